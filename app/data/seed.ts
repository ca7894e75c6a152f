import type { PageRepository } from './pages';

export const homePageBody = `Welcome to **cloudwiki**, the reference highly available three-tier web application for AWS.

This wiki is the demo app. Every response says which instance and Availability Zone served it (look at the footer), so you can watch requests move between instances while you break things.

## What it demonstrates

- **Stateless web tier.** Sessions live in DynamoDB, pages in PostgreSQL (RDS Multi-AZ with a read replica), uploads in S3 behind CloudFront. Any instance can serve any request, so the Auto Scaling group can replace or add instances freely.
- **Surviving failures.** Kill an instance, take out an Availability Zone, fail over the database: the wiki keeps serving, and you stay logged in.
- **Two health checks.** \`/health\` is shallow (the load balancer uses it, so a database failover does not recycle the fleet); \`/health/deep\` checks every dependency (Route 53 uses it to fail over to a static read-only copy of this wiki).
- **Load testing.** \`bees\` swarms the wiki with logged-in virtual users so you can watch it scale.

## Try it

1. [[Sandbox|Edit the sandbox page]] after signing up.
2. Open the same page in two tabs, edit both, and save: the second save is refused with both texts side by side, never silently lost.
3. Attach an image to a page: it goes to S3, never to an instance's disk.

See [[Getting Started]] for more, or [search the wiki](/search?q=health).
`;

/** Creates the Home page once. Safe when several instances start together: inserts never clash. */
export async function seedHomePage(pages: PageRepository): Promise<void> {
  if (await pages.findBySlug('Home', { fromWriter: true })) return;
  await pages.saveRevision({
    slug: 'Home',
    title: 'Home',
    body: homePageBody,
    summary: 'Created by cloudwiki',
    baseRevision: null,
    authorId: null,
  });
}
