import { setDomainLeverOnAws } from '../../../scripts/chaos/domain-lever';

/** The AWS CLI as a log of calls, answering describe-stacks with the edge stack's parameter keys. */
function recordingCli(keys = ['DataStackName', 'WebStackName', 'DomainName', 'SendDomainToBackup']) {
  const calls: string[][] = [];
  const aws = async (args: string[]) => {
    calls.push(args);
    return args[1] === 'describe-stacks' ? JSON.stringify(keys) : '';
  };
  return { aws, calls };
}

describe('the manual lever on AWS', () => {
  test('when run without --yes, then it only reads the stack and prints the update it would make', async () => {
    const { aws, calls } = recordingCli();
    const lines: string[] = [];
    await setDomainLeverOnAws({ aws, execute: false, log: (line) => lines.push(line) }, 'cloudwiki-edge', true);
    expect(calls.map((args) => args[1])).toEqual(['describe-stacks']);
    expect(lines.join('\n')).toMatch(/^DRY RUN: would send the domain to the backup site: aws cloudformation update-stack/);
  });

  test('when run with --yes, then one update changes only the lever, keeping the template and every other value', async () => {
    const { aws, calls } = recordingCli();
    await setDomainLeverOnAws({ aws, execute: true, log: () => {} }, 'cloudwiki-edge', true);
    const update = calls.find((args) => args[1] === 'update-stack')!;
    expect(update).toContain('--use-previous-template');
    expect(update.slice(update.indexOf('--parameters') + 1)).toEqual([
      'ParameterKey=DataStackName,UsePreviousValue=true',
      'ParameterKey=WebStackName,UsePreviousValue=true',
      'ParameterKey=DomainName,UsePreviousValue=true',
      'ParameterKey=SendDomainToBackup,ParameterValue=true',
    ]);
    expect(calls.at(-1)).toEqual(['cloudformation', 'wait', 'stack-update-complete', '--stack-name', 'cloudwiki-edge']);

    await setDomainLeverOnAws({ aws, execute: true, log: () => {} }, 'cloudwiki-edge', false);
    expect(calls.filter((args) => args[1] === 'update-stack').at(-1)).toContain('ParameterKey=SendDomainToBackup,ParameterValue=false');
  });

  test('when the stack has no lever, then it refuses and changes nothing', async () => {
    const { aws, calls } = recordingCli(['NetworkStackName']);
    await expect(setDomainLeverOnAws({ aws, execute: true, log: () => {} }, 'cloudwiki-web', true)).rejects.toThrow(
      /no SendDomainToBackup/,
    );
    expect(calls.map((args) => args[1])).toEqual(['describe-stacks']);
  });
});
