/**
 * A clock that moves only when a test says so: hand its `now` to the app (buildTestApp's `now`)
 * or to a module, and `advance` it past a cache's lifetime instead of sleeping through it.
 */
export function testClock(start = Date.now()) {
  let current = start;
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
  };
}
