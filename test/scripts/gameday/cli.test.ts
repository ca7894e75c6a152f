import { gameDayProgram, type GameDayFlags } from '../../../scripts/gameday/cli';

async function parse(...args: string[]): Promise<GameDayFlags> {
  let received: GameDayFlags | undefined;
  await gameDayProgram(
    async (flags) => {
      received = flags;
      return 0;
    },
    { writeOut: () => {}, writeErr: () => {} },
  ).parseAsync(args, { from: 'user' });
  return received!;
}

afterEach(() => {
  process.exitCode = undefined;
});

test('when run without options, then the documented defaults apply', async () => {
  expect(await parse()).toEqual({
    quick: false,
    sessionStore: 'dynamodb',
    sticky: false,
    stateDir: '.cache/gameday/lab',
    app: 'dist/app/server.js',
    build: true,
  });
});

test('when given options, then they arrive typed', async () => {
  expect(await parse('--quick', '--session-store', 'memory', '--sticky', '--no-build', '--json', 'f.json')).toEqual({
    quick: true,
    sessionStore: 'memory',
    sticky: true,
    stateDir: '.cache/gameday/lab',
    app: 'dist/app/server.js',
    build: false,
    json: 'f.json',
  });
});

test('when the session store or an option is unknown, then the game day does not start', async () => {
  await expect(parse('--session-store', 'redis')).rejects.toThrow(/Allowed choices are dynamodb, memory/);
  await expect(parse('--env-file', 'x')).rejects.toThrow(/unknown option '--env-file'/);
});
