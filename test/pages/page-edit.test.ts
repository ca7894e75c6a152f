import { pageRules } from '../../app/contracts';
import { pageEditForm, pageEditJson } from '../../app/pages/page-edit';

const messages = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues.map((issue) => issue.message) ?? [];

describe('one validation of a page edit for the form and the API', () => {
  test.each([
    ['a body over the limit', { body: 'x'.repeat(pageRules.bodyMaxChars + 1) }],
    ['a NUL in the body', { body: 'a\u0000b' }],
    ['a summary over the limit', { body: 'ok', summary: 's'.repeat(pageRules.summaryMaxChars + 1) }],
    ['a NUL in the summary', { body: 'ok', summary: '\u0000' }],
  ])('when the edit has %s, then both refuse it with the same words', (_case, fields) => {
    const form = messages(pageEditForm.safeParse({ ...fields, baseRevision: '' }));
    const json = messages(pageEditJson.safeParse({ ...fields, baseRevision: null }));
    expect(form).toHaveLength(1);
    expect(json).toEqual(form);
  });

  test('when the base revision is not a revision number, then both say what one looks like', () => {
    const form = messages(pageEditForm.safeParse({ body: 'ok', baseRevision: '0' }));
    const json = messages(pageEditJson.safeParse({ body: 'ok', baseRevision: 2_147_483_648 }));
    expect(form).toEqual(json);
    expect(form[0]).toMatch(/revision number such as 1/);
  });

  test('when the form creates a page, then an empty base revision means none', () => {
    expect(pageEditForm.parse({ body: 'new' })).toEqual({ body: 'new', summary: '', baseRevision: null });
    expect(pageEditForm.parse({ body: 'next', baseRevision: '7' }).baseRevision).toBe(7);
  });
});
