// PGlite cannot load inside jest's vm context, so the wire-server test runs it here, in a child
// process: prints the connection URL, then serves until killed.
import { PGlite } from '@electric-sql/pglite';
import { PGliteWireServer } from '../../dev/pglite-wire';

async function main() {
  const db = await PGlite.create('memory://');
  const server = new PGliteWireServer(db);
  const port = await server.listen(0, '127.0.0.1');
  console.log(`postgres://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`);
  process.on(
    'SIGTERM',
    () =>
      void server
        .close()
        .then(() => db.close())
        .finally(() => process.exit(0)),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
