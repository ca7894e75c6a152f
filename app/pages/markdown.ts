import MarkdownIt from 'markdown-it';
import type { UploadRecord } from '../uploads/repository';
import { isValidSlug, slugFromTitle } from './slug';

// Page bodies are written by anyone with an account, so they are untrusted input. markdown-it
// with `html: false` escapes every raw HTML tag (no <script>, no onerror= attributes), and its
// validateLink refuses javascript:, vbscript:, file: and non-image data: URLs.
const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });

/** Text as HTML element content or attribute value (&, <, > and " escaped). */
export const escapeHtml: (text: string) => string = markdown.utils.escapeHtml;

interface RenderEnv extends MarkdownIt.Env {
  existingPages?: Set<string>;
}

markdown.inline.ruler.before('link', 'wikilink', parseWikiLink);
markdown.renderer.rules.wikilink = (tokens, index, _options, env) => {
  const { existingPages } = env as RenderEnv;
  const token = tokens[index]!;
  const slug = (token.meta as { slug: string }).slug;
  const exists = existingPages?.has(slug) ?? true;
  const href = `/wiki/${encodeURIComponent(slug)}${exists ? '' : '/edit'}`;
  const className = exists ? 'wikilink' : 'wikilink missing';
  const title = exists ? '' : ' title="This page does not exist yet: create it"';
  return `<a class="${className}" href="${escapeHtml(href)}"${title}>${escapeHtml(token.content)}</a>`;
};

// Links out of the wiki must not pass authority or window.opener to the target. A
// protocol-relative link (//host/x) leaves the wiki as surely as https://host/x does; a backslash
// reaches the href percent-encoded (markdown-it's normalizeLink), so \\host/x stays a path here.
const defaultLinkOpen = markdown.renderer.rules.link_open ?? ((tokens, i, options, _env, self) => self.renderToken(tokens, i, options));
markdown.renderer.rules.link_open = (tokens, index, options, env, self) => {
  const href = String(tokens[index]!.attrGet('href') ?? '');
  if (/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(href)) tokens[index]!.attrSet('rel', 'nofollow ugc noopener noreferrer');
  return defaultLinkOpen(tokens, index, options, env, self);
};

/** `[[Page Name]]` or `[[Page Name|label]]`. */
function parseWikiLink(state: MarkdownIt.StateInline, silent: boolean): boolean {
  const start = state.pos;
  if (state.src.charCodeAt(start) !== 0x5b || state.src.charCodeAt(start + 1) !== 0x5b) return false;
  const end = state.src.indexOf(']]', start + 2);
  if (end < 0) return false;
  const inner = state.src.slice(start + 2, end);
  if (inner.includes('\n') || inner.includes('[')) return false;
  const [target = '', label] = inner.split('|', 2);
  const slug = slugFromTitle(target);
  if (!isValidSlug(slug)) return false;
  if (!silent) {
    const token = state.push('wikilink', '', 0);
    token.content = (label ?? target).trim() || target.trim();
    token.meta = { slug };
  }
  state.pos = end + 2;
  return true;
}

export interface ParsedMarkdown {
  /** Slugs of every [[wiki link]], so the caller can look up which exist in one query. */
  linkedSlugs: string[];
  render(existingPages: Set<string>): string;
}

export function parseMarkdown(source: string): ParsedMarkdown {
  const env: RenderEnv = {};
  const tokens = markdown.parse(source, env);
  const linked = new Set<string>();
  collectWikiLinks(tokens, linked);
  return {
    linkedSlugs: [...linked],
    render(existingPages) {
      return markdown.renderer.render(tokens, markdown.options, { ...env, existingPages });
    },
  };
}

function collectWikiLinks(tokens: MarkdownIt.Token[], into: Set<string>): void {
  for (const token of tokens) {
    if (token.type === 'wikilink') into.add((token.meta as { slug: string }).slug);
    if (token.children) collectWikiLinks(token.children, into);
  }
}

/** The markdown a person pastes to show an attachment: an image inline, any other file as a link. */
export function uploadLink(upload: Pick<UploadRecord, 'key' | 'filename' | 'contentType'>): string {
  const label = upload.filename.replace(/[[\]]/g, '');
  return `${upload.contentType.startsWith('image/') ? '!' : ''}[${label}](/uploads/${upload.key})`;
}
