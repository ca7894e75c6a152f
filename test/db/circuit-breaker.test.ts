import { CircuitBreaker } from '../../app/db/circuit-breaker';

class Unavailable extends Error {}
const isUnavailable = (error: unknown) => error instanceof Unavailable;
const refused = () => new Error('refused');

function breakerWithClock() {
  const clock = { now: 0 };
  const changes: string[] = [];
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    coolDownMs: 1_000,
    now: () => clock.now,
    onChange: (state) => changes.push(state),
  });
  const fail = () => breaker.run(() => Promise.reject(new Unavailable('down')), isUnavailable, refused);
  const succeed = () => breaker.run(() => Promise.resolve('answer'), isUnavailable, refused);
  return { breaker, clock, changes, fail, succeed };
}

test('when calls fail as unavailable fewer times in a row than the threshold, then the circuit stays closed', async () => {
  const { breaker, fail, succeed } = breakerWithClock();
  await expect(fail()).rejects.toBeInstanceOf(Unavailable);
  await expect(fail()).rejects.toBeInstanceOf(Unavailable);
  await expect(succeed()).resolves.toBe('answer');
  await expect(fail()).rejects.toBeInstanceOf(Unavailable);
  expect(breaker.isOpen).toBe(false);
});

test('when a call fails with an answer from the server (a SQL error), then it does not count against the circuit', async () => {
  const { breaker } = breakerWithClock();
  for (let call = 0; call < 5; call += 1) {
    await expect(breaker.run(() => Promise.reject(new Error('syntax error')), isUnavailable, refused)).rejects.toThrow('syntax error');
  }
  expect(breaker.isOpen).toBe(false);
});

test('when the threshold is reached, then calls are refused at once without running until the cool-down has passed', async () => {
  const { breaker, clock, changes, fail } = breakerWithClock();
  for (let call = 0; call < 3; call += 1) await expect(fail()).rejects.toBeInstanceOf(Unavailable);
  expect(changes).toEqual(['open']);
  const work = jest.fn(() => Promise.resolve('answer'));
  clock.now = 999;
  await expect(breaker.run(work, isUnavailable, refused)).rejects.toThrow('refused');
  expect(work).not.toHaveBeenCalled();
});

test('when the cool-down has passed, then exactly one probe runs at a time and its success closes the circuit', async () => {
  const { breaker, clock, changes, fail, succeed } = breakerWithClock();
  for (let call = 0; call < 3; call += 1) await expect(fail()).rejects.toBeInstanceOf(Unavailable);
  clock.now = 1_000;
  let answerProbe: (value: string) => void = () => undefined;
  const probe = breaker.run(() => new Promise<string>((resolve) => (answerProbe = resolve)), isUnavailable, refused);
  await expect(succeed()).rejects.toThrow('refused');
  answerProbe('back');
  await expect(probe).resolves.toBe('back');
  expect(changes).toEqual(['open', 'closed']);
  await expect(succeed()).resolves.toBe('answer');
});

test('when the probe fails, then the circuit stays open for another cool-down', async () => {
  const { breaker, clock, fail, succeed } = breakerWithClock();
  for (let call = 0; call < 3; call += 1) await expect(fail()).rejects.toBeInstanceOf(Unavailable);
  clock.now = 1_000;
  await expect(fail()).rejects.toBeInstanceOf(Unavailable);
  clock.now = 1_500;
  await expect(succeed()).rejects.toThrow('refused');
  clock.now = 2_000;
  await expect(succeed()).resolves.toBe('answer');
  expect(breaker.isOpen).toBe(false);
});
