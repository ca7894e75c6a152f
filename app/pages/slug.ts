// A page's slug is its title with spaces as underscores, the form used in URLs and in the
// database: "Getting Started" <-> "Getting_Started".
const slugPattern = /^[\p{L}\p{N}][\p{L}\p{N}_\-.()]{0,99}$/u;

export function isValidSlug(slug: string): boolean {
  return slugPattern.test(slug) && !slug.includes('..');
}

export function slugFromTitle(title: string): string {
  return title.trim().replace(/\s+/g, '_');
}

export function titleFromSlug(slug: string): string {
  return slug.replace(/_/g, ' ');
}

export const slugRules = 'Page names are 1–100 letters, digits, spaces, and _ - . ( ), starting with a letter or digit.';
