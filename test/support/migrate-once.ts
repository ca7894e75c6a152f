// Run by the concurrent-migration test, several copies at once: migrates DATABASE_URL and prints
// the names of the migrations this process applied as JSON.
import { migrate } from '../../app/db/migrate';
import { createLogger } from '../../app/platform/logger';

migrate(process.env.DATABASE_URL!, createLogger('silent')).then(
  (applied) => console.log(JSON.stringify(applied)),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
