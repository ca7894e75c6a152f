import { z } from 'zod';
import { pageRules, parseRevision } from '../contracts';
import { hasNulByte, nulByteMessage } from '../http/nul-bytes';

// One rule for what a page save accepts, whether it comes from the HTML form or the JSON API:
// the same limits, the same NUL check (PostgreSQL text cannot hold U+0000), the same words.

const body = z
  .string()
  .max(pageRules.bodyMaxChars, `The text is longer than ${pageRules.bodyMaxChars.toLocaleString('en')} characters.`)
  .refine((text) => !hasNulByte(text), nulByteMessage('text'));

const summary = z
  .string()
  .max(pageRules.summaryMaxChars, `The summary is longer than ${pageRules.summaryMaxChars} characters.`)
  .refine((text) => !hasNulByte(text), nulByteMessage('summary'))
  .default('');

const revisionMessage = 'The base revision must be a revision number such as 1 or 12.';

/** The edit form's fields: every value arrives as a string, an empty base revision creates the page. */
export const pageEditForm = z.object({
  body,
  summary,
  baseRevision: z
    .string()
    .default('')
    .refine((value) => value === '' || parseRevision(value) !== null, revisionMessage)
    .transform((value) => (value === '' ? null : parseRevision(value))),
});

/** PUT /api/pages/:slug: JSON, with a numeric base revision, or null to create the page. */
export const pageEditJson = z.object({
  body,
  summary,
  baseRevision: z
    .number()
    .refine((value) => parseRevision(value) !== null, revisionMessage)
    .nullable()
    .default(null),
});
