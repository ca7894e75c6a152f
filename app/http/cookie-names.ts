import type { Request } from 'express';

/**
 * A cookie's name for this request. Over HTTPS it carries the __Host- prefix: the browser then
 * keeps it only if it is Secure, has Path=/ and no Domain, which is what makes it impossible for
 * a sibling subdomain (or a man in the middle on plain HTTP) to plant one, e.g. to log a victim in
 * to the attacker's account. Plain HTTP (npm start, the lab) cannot use the prefix.
 */
export function cookieNameFor(name: string, req: Request): string {
  return req.secure ? `__Host-${name}` : name;
}
