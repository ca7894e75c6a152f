import { InvalidArgumentError } from 'commander';

/** A commander argument parser for a whole number in [min, max]: the CLI names the option on error. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max)
      throw new InvalidArgumentError(
        `expected a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got "${value}".`,
      );
    return parsed;
  };
}

/** A TCP port. */
export const portNumber = wholeNumber(1, 65_535);

/** A commander parser that accepts one of `choices` (commander's own .choices() cannot be typed). */
export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}".`);
    return value as T;
  };
}
