import { titleFromSlug } from './slug';
import type { PageRepository } from './repository';

const homePageBody = `Welcome to **cloudwiki**, the reference highly available three-tier web application for AWS.

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

const gettingStartedBody = `Three ways to run cloudwiki, from one laptop to AWS:

| | what runs | for |
|---|---|---|
| \`npm start\` | one process on embedded PostgreSQL (PGlite), DynamoDB (dynalite) and S3 (s3rver) | trying the wiki |
| \`npm run lab\` | PostgreSQL with a replica, DynamoDB Local, s3rver, HAProxy and three instances in simulated AZs | watching failover and scaling |
| \`infra/\` | CloudFormation: VPC over 2–3 AZs, RDS Multi-AZ, DynamoDB, S3, ALB + Auto Scaling, CloudFront, Route 53 | the real thing |

## Things to try here

- Sign up, then edit the [[Sandbox]]: every save is a new revision, and the history page shows who changed what.
- Link pages with double square brackets: a link to a page that does not exist yet shows in red and opens its editor.
- Search the wiki from the box at the top.

## Things to try in the lab

- \`npm run chaos -- instance\` kills one instance: watch the footer's instance name change while you stay logged in.
- \`npm run gameday -- --quick\` runs a scripted day of faults under load and reports what was lost (nothing, we hope).

Back to [[Home]].
`;

const sandboxBody = `This page is for trying things out: edit it freely.

Some markdown to start from: **bold**, _italic_, \`code\`, a [[Home|link to the home page]], and a list:

- one
- two
`;

/** The pages a new wiki starts with; every wiki link on them leads to one of them. */
export const startingPages: ReadonlyArray<{ slug: string; body: string }> = [
  { slug: 'Home', body: homePageBody },
  { slug: 'Getting_Started', body: gettingStartedBody },
  { slug: 'Sandbox', body: sandboxBody },
];

/**
 * Creates the starting pages once each. Safe when several instances start together: a page that
 * another instance created first is left alone (the insert's ON CONFLICT makes it a no-op).
 */
export async function seedPages(pages: PageRepository): Promise<void> {
  for (const { slug, body } of startingPages) {
    if (await pages.findBySlug(slug, { fromWriter: true })) continue;
    await pages.saveRevision({
      slug,
      title: titleFromSlug(slug),
      body,
      summary: 'Created by cloudwiki',
      baseRevision: null,
      authorId: null,
    });
  }
}
