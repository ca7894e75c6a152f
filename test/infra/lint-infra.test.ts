import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultTemplates, lintFiles } from '../../scripts/lint-infra/cli';

const fixture = (name: string) => path.join(__dirname, 'fixtures', `${name}.yaml`);
const problemsOf = (name: string) => lintFiles([fixture(name)])[0]?.problems ?? [];

describe('lint:infra', () => {
  test('when run over infra/, then every template passes the CloudFormation specification and the AwsSolutions pack', () => {
    const results = lintFiles(defaultTemplates());
    expect(results.map((result) => path.basename(result.file))).toEqual([
      '01-network.yaml',
      '02-data.yaml',
      '03-web.yaml',
      '04-edge.yaml',
      '05-chaos.yaml',
    ]);
    for (const result of results) expect(result).toEqual({ file: result.file, problems: [] });
  });

  test('when a resource type does not exist, then it is named', () => {
    expect(problemsOf('unknown-resource-type')).toEqual(['Resources.Vpc.Type: unknown resource type AWS::EC2::VPCC']);
  });

  test('when a property is misspelled, then the right spelling is suggested', () => {
    expect(problemsOf('misspelled-property')).toEqual([
      'Resources.AssetsBucket.Properties.BucketEncription: unknown property (did you mean BucketEncryption?)',
    ]);
  });

  test('when a required property is missing, then it is named', () => {
    expect(problemsOf('missing-required-property')).toEqual(['Resources.WebAutoScalingGroup.Properties: missing required property MaxSize']);
  });

  test('when values have the wrong type, shape or enumerated value, then each one is reported', () => {
    expect(problemsOf('wrong-value-types')).toEqual([
      'Resources.Vpc.Properties.EnableDnsSupport: expects true or false, got string "maybe"',
      'Resources.Vpc.Properties.Tags: expects a list, got an object',
      'Resources.WebAutoScalingGroup.Properties.VPCZoneIdentifier: expects a list, got string "subnet-0123456789abcdef0"',
      'Resources.Volume.Properties.AvailabilityZone: expects a single value, but Fn::GetAZs gives a list',
      'Resources.Volume.Properties.Size: expects an integer, got string "ten"',
      'Resources.LoadBalancer.Properties.SecurityGroups: expects a list, but Fn::ImportValue gives a single value',
      // The spec's list of endpoint types grows; the message must name the value and suggest the fix.
      expect.stringMatching(/^Resources\.S3GatewayEndpoint\.Properties\.VpcEndpointType: "Gatway" is not one of .*Gateway.* \(did you mean Gateway\?\)$/),
    ]);
  });

  test('when Ref, GetAtt, Sub, ImportValue or DependsOn point at nothing, then each is reported', () => {
    expect(problemsOf('dangling-references')).toEqual(
      expect.arrayContaining([
        'Resources.Subnet.DependsOn: no resource named InternetGateway',
        expect.stringMatching(/^Resources\.Vpc\.Properties\.CidrBlock\.Ref: VpcCidrBlock is neither a parameter nor a resource/),
        expect.stringMatching(/Fn::Sub: Environment is neither a parameter nor a resource/),
        'Resources.Vpc.Properties.Tags[1].Value.Fn::GetAtt: AWS::EC2::VPC has no attribute CidrBlok (did you mean CidrBlock?)',
        'Resources.Vpc.Properties.Tags[2].Value.Fn::Sub: GetAtt of Vpcc, which is not a resource (did you mean Vpc?)',
        'Resources.Subnet.Properties.VpcId.Fn::ImportValue: nothing exports *:VpcIdd (did you mean *:VpcId?)',
      ]),
    );
    expect(problemsOf('dangling-references')).toHaveLength(6);
  });

  test('when a parameter label is not one string (an unquoted comma in a flow mapping), then it is refused', () => {
    expect(problemsOf('parameter-labels')).toEqual([
      `Metadata.AWS::CloudFormation::Interface.ParameterLabels.ScaleOutCron: a label is { default: 'one string' }, got {"default":"Scale-out schedule (cron","UTC)":null} (quote a label that holds a comma)`,
      `Metadata.AWS::CloudFormation::Interface.ParameterGroups[0].Label: a label is { default: 'one string' }, got {"default":"Schedule","optional":null} (quote a label that holds a comma)`,
    ]);
  });

  test('when a stack imports a list export (subnets, one per AZ), then it is refused: the list could never change', () => {
    expect(problemsOf('imported-list-export')).toEqual([
      'Resources.DatabaseSubnetGroup.Properties.SubnetIds.Fn::Split[1].Fn::ImportValue: *:DataSubnetIds is a list export: it could never change while imported (another AZ); read its SSM parameter instead (AWS::SSM::Parameter::Value<List<...>>)',
    ]);
  });

  test("when AWS's validator finds what the home-made pass cannot, then only a suppression with a written reason lets it pass", () => {
    const problems = problemsOf('validator-findings');
    // Schema patterns and ${} outside Fn::Sub: checks only @aws/cloudformation-validate makes.
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Resources\.AppLogGroup: F3031 '\/cloudwiki\/\$\{AWS::StackName\}\/app' does not match pattern/),
        "Resources.AppLogGroup: E1029 Found an embedded parameter '${AWS::StackName}' outside of an 'Fn::Sub' at Properties.LogGroupName",
        "Resources.FlowLogGroup: E1029 Found an embedded parameter '${AWS::StackName}' outside of an 'Fn::Sub' at Properties.LogGroupName (suppressed without a reason of at least 10 characters)",
      ]),
    );
    expect(problems.filter((problem) => problem.startsWith('Resources.ExplainedLogGroup: E1029'))).toEqual([]);
  });

  test('when a short-form tag is unknown, then the template is refused', () => {
    expect(problemsOf('unknown-yaml-tag')).toEqual([expect.stringMatching(/^Unresolved tag: !Reff at line 7/)]);
  });

  test('when an AwsSolutions rule fails, then only a suppression with a written reason lets it pass', () => {
    expect(problemsOf('nag-findings')).toEqual([
      'Resources.LogsBucket: AwsSolutions-S10 The S3 Bucket or bucket policy does not require requests to use SSL.',
      'Resources.PlainBucket: AwsSolutions-S1 suppressed without a reason of at least 10 characters: say why in Metadata.cdk_nag.rules_to_suppress',
      'Resources.PlainBucket: AwsSolutions-S1 The S3 Bucket has server access logs disabled.',
      'Resources.PlainBucket: AwsSolutions-S10 The S3 Bucket or bucket policy does not require requests to use SSL.',
    ]);
  });

  test('when the command line gets a broken template, then it prints FAIL and exits non-zero', async () => {
    const root = path.join(__dirname, '..', '..');
    const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
    const run = promisify(execFile)(tsx, ['scripts/lint-infra/cli.ts', 'infra/01-network.yaml', fixture('misspelled-property')], { cwd: root });
    await expect(run).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/PASS infra\/01-network\.yaml\nFAIL test\/infra\/fixtures\/misspelled-property\.yaml\n {2}Resources\.AssetsBucket/),
    });
    // A process of its own that loads the specification, AWS's validator and cdk-nag.
  }, 120_000);
});
