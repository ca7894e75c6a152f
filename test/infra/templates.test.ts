import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deepHealthPath, healthPath } from '../../app/contracts';
import { healthCheckKey } from '../../app/platform/assets';
import { sessionTableKey, sessionTtlAttribute } from '../../app/sessions/sessions-table';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { readTemplate, type Template } from '../../scripts/lint-infra/cfn-yaml';
import { backupSiteErrorDocument } from '../../scripts/services/s3';

// The high-availability and security rules of the design, checked on the parsed templates.


// Parsed templates are untyped JSON; the assertions below are what checks their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = Record<string, any>;

const load = (name: string): Template => readTemplate(path.join(__dirname, '..', '..', 'infra', `${name}.yaml`));
const templates = {
  network: load('01-network'),
  data: load('02-data'),
  web: load('03-web'),
  edge: load('04-edge'),
  chaos: load('05-chaos'),
};
const allTemplates = Object.entries(templates);

function resourcesOf(template: Template, type?: string): [string, Node][] {
  return Object.entries(template.Resources as Record<string, Node>).filter(([, resource]) => !type || resource.Type === type);
}
function only(template: Template, type: string): Node {
  const found = resourcesOf(template, type);
  expect(found).toHaveLength(1);
  return (found[0] as [string, Node])[1].Properties;
}
const network = templates.network.Resources as Record<string, Node>;

/** The AZ index (`!Select [i, !GetAZs '']`) of a subnet in the network template. */
function azIndexOfSubnet(logicalId: string): number {
  return network[logicalId]?.Properties.AvailabilityZone['Fn::Select'][0];
}
/** The subnets listed (two-AZ branch) in a network output such as AppSubnetIds. */
function subnetsInOutput(outputName: string): string[] {
  const value = (templates.network.Outputs as Node)[outputName].Value['Fn::If'][2]['Fn::Join'][1] as Node[];
  return value.map((ref) => ref.Ref);
}

describe('high availability', () => {
  test('when the web tier is deployed, then the Auto Scaling group spans at least two AZs with min >= 2 and ELB health checks', () => {
    const asg = only(templates.web, 'AWS::AutoScaling::AutoScalingGroup');
    expect(asg.VPCZoneIdentifier).toEqual({ Ref: 'AppSubnetIds' });
    const appSubnets = subnetsInOutput('AppSubnetIds');
    expect(new Set(appSubnets.map(azIndexOfSubnet)).size).toBeGreaterThanOrEqual(2);
    const minSize = (templates.web.Parameters as Node).MinSize;
    expect(asg.MinSize).toEqual({ Ref: 'MinSize' });
    expect(minSize.Default).toBeGreaterThanOrEqual(2);
    expect(minSize.MinValue).toBeGreaterThanOrEqual(2);
    expect(asg.HealthCheckType).toBe('ELB');
    expect(asg.HealthCheckGracePeriod).toBeGreaterThan(0);
  });

  test('when the AZ count of a running deployment changes, then the subnet lists reach the other stacks through SSM, not exports', () => {
    const ssm = network as Record<string, Node>;
    const consumers: [Template, string, string][] = [
      [templates.data, 'DataSubnetIds', 'DatabaseSubnetGroup'],
      [templates.web, 'PublicSubnetIds', 'LoadBalancer'],
      [templates.web, 'AppSubnetIds', 'WebAutoScalingGroup'],
    ];
    for (const [template, list, consumer] of consumers) {
      const parameter = ssm[`${list}Parameter`]!;
      expect(parameter.Type).toBe('AWS::SSM::Parameter');
      expect(parameter.Properties).toMatchObject({ Name: { 'Fn::Sub': `/\${AWS::StackName}/${list}` }, Type: 'StringList' });
      expect(parameter.Properties.Value).toEqual((templates.network.Outputs as Node)[list].Value);
      expect((template.Parameters as Node)[list]).toMatchObject({
        Type: 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>',
        Default: `/cloudwiki-network/${list}`,
      });
      expect(JSON.stringify((template.Resources as Node)[consumer].Properties)).toContain(`{"Ref":"${list}"}`);
    }
    const deploy = readFileSync(path.join(__dirname, '..', '..', 'scripts', 'deploy'), 'utf8');
    for (const [, list] of consumers) expect(deploy).toContain(`"${list}=/$network/${list}"`);
    const deploying = readFileSync(path.join(__dirname, '..', '..', 'docs', 'deploying.md'), 'utf8');
    expect(deploying).toContain('### Changing the number of Availability Zones');
  });

  test('when instances launch or roll, then CloudFormation waits for their cfn-signal', () => {
    const [, asg] = resourcesOf(templates.web, 'AWS::AutoScaling::AutoScalingGroup')[0] as [string, Node];
    expect(asg.CreationPolicy.ResourceSignal).toEqual({ Count: { Ref: 'MinSize' }, Timeout: expect.stringMatching(/^PT\d+M$/) });
    expect(asg.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ WaitOnResourceSignals: true, MinInstancesInService: { Ref: 'MinSize' } });
  });

  test('when an AZ is impaired, then a zonal shift takes it out of the load balancer and the group', () => {
    expect(web.LoadBalancer!.Properties.LoadBalancerAttributes).toContainEqual({ Key: 'zonal_shift.config.enabled', Value: 'true' });
    expect(web.WebAutoScalingGroup!.Properties.AvailabilityZoneImpairmentPolicy).toEqual({
      ZonalShiftEnabled: true,
      ImpairedZoneHealthCheckBehavior: 'IgnoreUnhealthy',
    });
    const operations = readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    expect(operations).toContain('aws arc-zonal-shift start-zonal-shift');
  });

  test('when an AZ is lost, then the others keep their own NAT gateway', () => {
    const natSubnets = resourcesOf(templates.network, 'AWS::EC2::NatGateway').map(([, nat]) => nat.Properties.SubnetId.Ref as string);
    const publicSubnets = resourcesOf(templates.network, 'AWS::EC2::Subnet').filter(([id]) => id.startsWith('Public'));
    expect(natSubnets.sort()).toEqual(publicSubnets.map(([id]) => id).sort());
    const routes = resourcesOf(templates.network, 'AWS::EC2::Route').filter(([, route]) => route.Properties.NatGatewayId);
    const associations = resourcesOf(templates.network, 'AWS::EC2::SubnetRouteTableAssociation').map(([, a]) => a.Properties);
    for (const [, route] of routes) {
      const natId = route.Properties.NatGatewayId.Ref as string;
      const natAz = azIndexOfSubnet(network[natId]?.Properties.SubnetId.Ref);
      const routedSubnets = associations.filter((a) => a.RouteTableId.Ref === route.Properties.RouteTableId.Ref).map((a) => a.SubnetId.Ref);
      expect(routedSubnets).toHaveLength(1);
      expect(azIndexOfSubnet(routedSubnets[0])).toBe(natAz);
    }
    expect(routes).toHaveLength(natSubnets.length);
  });

  test('when the database primary fails, then a Multi-AZ standby takes over and a replica serves reads', () => {
    const [writer, replica] = resourcesOf(templates.data, 'AWS::RDS::DBInstance').map(([, db]) => db.Properties);
    expect(writer).toMatchObject({ MultiAZ: true, PubliclyAccessible: false, DeletionProtection: true, ManageMasterUserPassword: true });
    expect(writer?.BackupRetentionPeriod).toEqual({ Ref: 'DatabaseBackupRetentionDays' });
    expect((templates.data.Parameters as Node).DatabaseBackupRetentionDays.MinValue).toBeGreaterThanOrEqual(1);
    expect(replica).toMatchObject({ SourceDBInstanceIdentifier: { Ref: 'Database' }, PubliclyAccessible: false });
  });
});

describe('security', () => {
  test('when anything stores data, then it is encrypted at rest', () => {
    for (const [, bucket] of allTemplates.flatMap(([, t]) => resourcesOf(t, 'AWS::S3::Bucket'))) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toMatch(/AES256|aws:kms/);
    }
    for (const [, db] of resourcesOf(templates.data, 'AWS::RDS::DBInstance')) {
      // A same-region replica inherits its source's encryption and may not set it itself.
      if (!db.Properties.SourceDBInstanceIdentifier) expect(db.Properties.StorageEncrypted).toBe(true);
    }
    expect(only(templates.data, 'AWS::DynamoDB::Table').SSESpecification).toEqual({ SSEEnabled: true });
    const launchTemplate = only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData;
    for (const device of launchTemplate.BlockDeviceMappings) expect(device.Ebs.Encrypted).toBe(true);
    expect(only(templates.web, 'AWS::SNS::Topic').KmsMasterKeyId).toBeDefined();
  });

  test('when the app is reached, then only over HTTPS, and the load balancer is the one proxy the app trusts', () => {
    const listeners = resourcesOf(templates.web, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => l);
    for (const listener of listeners) {
      if (listener.Properties.Protocol === 'HTTPS') expect(listener.Condition).toBeUndefined();
      else expect(listener.Properties.DefaultActions).toEqual([expect.objectContaining({ Type: 'redirect' })]);
    }
    expect(listeners.map((l) => l.Properties.Protocol).sort()).toEqual(['HTTP', 'HTTPS']);
    expect((templates.web.Parameters as Node).CertificateArn.Default).toBeUndefined();
    const userData = only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'][0] as string;
    expect(userData).toMatch(/^TRUST_PROXY='1'$/m);
    const attributes = only(templates.web, 'AWS::ElasticLoadBalancingV2::LoadBalancer').LoadBalancerAttributes as Node[];
    expect(attributes).toContainEqual({ Key: 'routing.http.xff_header_processing.mode', Value: 'append' });
  });

  test('when Route 53 moves the name, then an active browser follows within 60-120 s: the ALB ends its connections that often', () => {
    const attributes = only(templates.web, 'AWS::ElasticLoadBalancingV2::LoadBalancer').LoadBalancerAttributes as Node[];
    const keepAlive = Number(attributes.find((attribute) => attribute.Key === 'client_keep_alive.seconds')?.Value);
    expect(keepAlive).toBeGreaterThanOrEqual(60);
    expect(keepAlive).toBeLessThanOrEqual(120);
  });

  test('when /health/deep reads the buckets, then the instances may read the one fixed key it asks for, and no other asset', () => {
    const statements = web.InstanceRole!.Properties.Policies.flatMap((policy: Node) => policy.PolicyDocument.Statement as Node[]);
    const probe = statements.find((statement: Node) => statement.Sid === 'HealthCheckObject');
    expect(probe.Action).toBe('s3:GetObject');
    expect(probe.Resource['Fn::Sub'][0]).toBe(`arn:\${AWS::Partition}:s3:::\${Bucket}/${healthCheckKey}`);
  });

  test('when an instance starts, then only IMDSv2 answers it', () => {
    const options = only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.MetadataOptions;
    expect(options).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
  });

  test('when IAM allows something, then it names actions and resources narrower than *', () => {
    const allows = resourcesOf(templates.web, 'AWS::IAM::Role').flatMap(([, role]) =>
      (role.Properties.Policies as Node[]).flatMap((policy) => policy.PolicyDocument.Statement as Node[]),
    );
    expect(allows.length).toBeGreaterThan(0);
    for (const statement of allows) {
      const actions = [statement.Action].flat();
      expect(actions.filter((action) => typeof action === 'string' && /(^|:)\*$/.test(action))).toEqual([]);
      // Session Manager's channel actions have no resource type: * is the only resource they take.
      if (actions.every((action) => typeof action === 'string' && action.startsWith('ssmmessages:'))) continue;
      expect([statement.Resource].flat()).not.toContain('*');
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
    }
    expect(allows.map((statement) => statement.Sid)).toEqual(
      expect.arrayContaining(['Sessions', 'Uploads', 'Secrets', 'ReleaseArtifacts']),
    );
  });

  test('when Session Manager reaches an instance, then the role grants its channel and nothing of SSM account-wide', () => {
    for (const [, role] of resourcesOf(templates.web, 'AWS::IAM::Role')) {
      // AmazonSSMManagedInstanceCore grants ssm:GetParameter(s) on every parameter of the account.
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      const statements = (role.Properties.Policies as Node[]).flatMap((policy) => policy.PolicyDocument.Statement as Node[]);
      const ssmActions = statements.flatMap((statement) => [statement.Action].flat()).filter((action: string) => /^ssm:/.test(action));
      expect(ssmActions).toEqual(['ssm:UpdateInstanceInformation']);
    }
  });

  test('when CloudFront reads a bucket, then the grant names the one distribution, not every distribution of the account', () => {
    const grants = allTemplates
      .flatMap(([, t]) => resourcesOf(t, 'AWS::S3::BucketPolicy'))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Node[])
      .filter((statement) => statement.Principal?.Service === 'cloudfront.amazonaws.com');
    expect(grants.map((grant) => grant.Sid).sort()).toEqual(['CloudFrontReadsAssets', 'CloudFrontReadsBackupSite']);
    for (const grant of grants) {
      expect(grant.Condition).toEqual({
        StringEquals: { 'AWS:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${BackupDistribution}' } },
      });
    }
  });

  test('when a bucket is created, then its policy refuses plain HTTP and none is public', () => {
    const buckets = resourcesOf(templates.data, 'AWS::S3::Bucket');
    const policies = allTemplates.flatMap(([, t]) => resourcesOf(t, 'AWS::S3::BucketPolicy')).map(([, p]) => p.Properties);
    // A bucket's policy is in the data stack (Ref) or, for the buckets CloudFront reads, in the edge
    // stack beside the distribution it names (the data stack's export of the bucket name).
    const imported = (name: string) => ({ 'Fn::ImportValue': { 'Fn::Sub': `\${DataStackName}:${name}Name` } });
    for (const [name, bucket] of buckets) {
      const policy = policies.find((p) => p.Bucket.Ref === name || JSON.stringify(p.Bucket) === JSON.stringify(imported(name)));
      const denyInsecure = policy?.PolicyDocument.Statement.find(
        (s: Node) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      );
      const arn = (suffix: string) =>
        policy?.Bucket.Ref
          ? suffix
            ? { 'Fn::Sub': `\${${name}.Arn}${suffix}` }
            : { 'Fn::GetAtt': [name, 'Arn'] }
          : { 'Fn::Sub': [`arn:\${AWS::Partition}:s3:::\${Bucket}${suffix}`, { Bucket: imported(name) }] };
      expect({ name, denyInsecure: denyInsecure?.Resource }).toEqual({ name, denyInsecure: [arn(''), arn('/*')] });
      const block = bucket.Properties.PublicAccessBlockConfiguration;
      // Accounts with S3 Block Public Access on refuse a public policy outright (and roll the
      // stack back after RDS was created), so no bucket may need one.
      expect({ name, block }).toEqual({
        name,
        block: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      });
      expect({ name, website: bucket.Properties.WebsiteConfiguration }).toEqual({ name, website: undefined });
      for (const statement of policy?.PolicyDocument.Statement ?? []) {
        if (statement.Effect === 'Allow') expect({ name, principal: statement.Principal }).not.toEqual({ name, principal: '*' });
      }
    }
  });

  test('when traffic flows, then security groups chain load balancer -> app -> database and nothing else', () => {
    const groups = Object.fromEntries(resourcesOf(templates.network, 'AWS::EC2::SecurityGroup').map(([id, g]) => [id, g.Properties]));
    expect(Object.keys(groups).sort()).toEqual(['AppSecurityGroup', 'DatabaseSecurityGroup', 'LoadBalancerSecurityGroup']);
    expect(groups.LoadBalancerSecurityGroup.SecurityGroupIngress.map((rule: Node) => rule.FromPort)).toEqual([80, 443]);
    expect(groups.AppSecurityGroup.SecurityGroupIngress).toEqual([
      expect.objectContaining({ SourceSecurityGroupId: { Ref: 'LoadBalancerSecurityGroup' }, FromPort: { Ref: 'AppPort' } }),
    ]);
    expect(groups.DatabaseSecurityGroup.SecurityGroupIngress).toEqual([
      expect.objectContaining({ SourceSecurityGroupId: { Ref: 'AppSecurityGroup' }, FromPort: 5432, ToPort: 5432 }),
    ]);
    expect(resourcesOf(templates.network, 'AWS::EC2::SecurityGroupIngress')).toEqual([]);
    const database = resourcesOf(templates.data, 'AWS::RDS::DBInstance').map(([, db]) => db.Properties.VPCSecurityGroups);
    for (const groupsOfInstance of database) {
      expect(groupsOfInstance).toEqual([{ 'Fn::ImportValue': { 'Fn::Sub': '${NetworkStackName}:DatabaseSecurityGroupId' } }]);
    }
  });
});

describe('agreement with the app', () => {
  test('when the load balancer and Route 53 check health, then they use the shallow and deep routes', () => {
    expect(only(templates.web, 'AWS::ElasticLoadBalancingV2::TargetGroup').HealthCheckPath).toBe(healthPath);
    const checks = resourcesOf(templates.edge, 'AWS::Route53::HealthCheck').map(([, check]) => check.Properties.HealthCheckConfig);
    expect(checks.filter((check) => check.Type !== 'CALCULATED').map((check) => check.ResourcePath)).toEqual([deepHealthPath]);
  });

  test('when sessions are stored, then the table key and TTL attribute are the ones the app uses', () => {
    const table = only(templates.data, 'AWS::DynamoDB::Table');
    expect(table.KeySchema).toEqual([{ AttributeName: sessionTableKey, KeyType: 'HASH' }]);
    expect(table.AttributeDefinitions).toEqual([{ AttributeName: sessionTableKey, AttributeType: 'S' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: sessionTtlAttribute, Enabled: true });
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  test('when the backup site is served, then a missing page shows the maintenance page static-site:build writes', () => {
    const distribution = only(templates.edge, 'AWS::CloudFront::Distribution').DistributionConfig;
    expect(distribution.DefaultRootObject).toBe('index.html');
    for (const response of distribution.CustomErrorResponses as Node[]) {
      expect(response).toMatchObject({ ResponsePagePath: `/${backupSiteErrorDocument}`, ResponseCode: 503 });
    }
  });
});

describe('template style', () => {
  test.each(allTemplates)('when %s is read, then every parameter is described, grouped and typed', (_name, template) => {
    const parameters = (template.Parameters ?? {}) as Node;
    const groups = (template.Metadata as Node)['AWS::CloudFormation::Interface'].ParameterGroups as Node[];
    expect(groups.flatMap((group) => group.Parameters).sort()).toEqual(Object.keys(parameters).sort());
    for (const [name, parameter] of Object.entries(parameters)) {
      expect({ name, described: typeof parameter.Description === 'string' && parameter.Description.length > 10 }).toEqual({ name, described: true });
      if (parameter.Type === 'String' && !parameter.AllowedValues) expect({ name, pattern: typeof parameter.AllowedPattern }).toEqual({ name, pattern: 'string' });
    }
  });

  test.each(allTemplates)('when %s is read, then every output is described and exported as <stack>:<output>', (_name, template) => {
    for (const [name, output] of Object.entries(template.Outputs as Node)) {
      expect(output.Description).toEqual(expect.any(String));
      expect(output.Export).toEqual({ Name: { 'Fn::Sub': `\${AWS::StackName}:${name}` } });
    }
  });
});

const edge = templates.edge.Resources as Record<string, Node>;
const web = templates.web.Resources as Record<string, Node>;
const data = templates.data.Resources as Record<string, Node>;

describe('failover a returning visitor can reach', () => {
  test('when the wiki fails over, then its name answers HTTPS with the backup from a private bucket, never an HTTP-only endpoint', () => {
    const records = resourcesOf(templates.edge, 'AWS::Route53::RecordSet').map(([, r]) => r.Properties);
    const named = records.filter((r) => r.Name?.Ref === 'DomainName');
    expect(named.map((r) => r.Failover).sort()).toEqual(['PRIMARY', 'SECONDARY']);
    for (const record of named) {
      // No CNAME to an S3 website endpoint (HTTP only) or any other plain-HTTP host: aliases only.
      expect(record.Type).toBe('A');
      expect(record.ResourceRecords).toBeUndefined();
    }
    const primary = named.find((r) => r.Failover === 'PRIMARY');
    expect(primary.AliasTarget.DNSName).toEqual({ 'Fn::ImportValue': { 'Fn::Sub': '${WebStackName}:LoadBalancerDnsName' } });
    expect(primary.HealthCheckId).toEqual({ Ref: 'DomainHealthCheck' });
    // The record follows the deep check unless the manual lever holds it on the backup.
    expect(edge.DomainHealthCheck!.Properties.HealthCheckConfig).toEqual({
      Type: 'CALCULATED',
      ChildHealthChecks: [{ Ref: 'DeepHealthCheck' }],
      HealthThreshold: { 'Fn::If': ['DomainForcedToBackup', 2, 1] },
    });
    expect((templates.edge.Conditions as Node).DomainForcedToBackup).toEqual({ 'Fn::Equals': [{ Ref: 'SendDomainToBackup' }, 'true'] });
    expect((templates.edge.Parameters as Node).SendDomainToBackup).toMatchObject({ Default: 'false', AllowedValues: ['false', 'true'] });
    const secondary = named.find((r) => r.Failover === 'SECONDARY');
    expect(secondary.AliasTarget.DNSName).toEqual({ 'Fn::GetAtt': ['BackupDistribution', 'DomainName'] });

    const distribution = edge.BackupDistribution!.Properties.DistributionConfig;
    expect(distribution.Aliases).toContainEqual({ Ref: 'DomainName' });
    expect(distribution.ViewerCertificate.AcmCertificateArn).toEqual({ Ref: 'CloudFrontCertificateArn' });
    for (const behavior of [distribution.DefaultCacheBehavior, ...distribution.CacheBehaviors]) {
      expect(behavior.ViewerProtocolPolicy).toMatch(/^(redirect-to-https|https-only)$/);
      expect(behavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    }
    for (const origin of distribution.Origins as Node[]) {
      expect(origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': ['BucketOriginAccessControl', 'Id'] });
      expect(origin.CustomOriginConfig).toBeUndefined();
    }
    expect(templates.data.Resources).not.toHaveProperty('BackupSiteBucket.Properties.WebsiteConfiguration');
  });

  test('when the primary fails, then DNS fails over within 1.5 minutes and the check keeps watching the load balancer itself', () => {
    const check = edge.DeepHealthCheck!.Properties.HealthCheckConfig;
    expect(check).toMatchObject({ Type: 'HTTPS', ResourcePath: deepHealthPath, Port: 443 });
    // Watching the wiki's own name would watch the backup once failed over, and never fail back.
    expect(check.FullyQualifiedDomainName).toEqual({ 'Fn::ImportValue': { 'Fn::Sub': '${WebStackName}:LoadBalancerDnsName' } });
    // Alias records to a load balancer are answered with a 60 s TTL.
    const aliasTtlSeconds = 60;
    expect(check.RequestInterval * check.FailureThreshold + aliasTtlSeconds).toBeLessThanOrEqual(90);
  });

  test('when docs/architecture.md states the failover times, then they are computed from these settings', () => {
    const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'architecture.md'), 'utf8');
    const check = edge.DeepHealthCheck!.Properties.HealthCheckConfig;
    const targetGroup = web.TargetGroup!.Properties;
    const deregistrationDelay = (targetGroup.TargetGroupAttributes as Node[]).find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
    expect(doc).toContain(`\`RequestInterval\` ${check.RequestInterval} s × \`FailureThreshold\` ${check.FailureThreshold}`);
    const seconds = check.RequestInterval * check.FailureThreshold;
    const keepAlive = Number((web.LoadBalancer!.Properties.LoadBalancerAttributes as Node[]).find((a) => a.Key === 'client_keep_alive.seconds')?.Value);
    // The app's background round (5 s) and its check timeout (1.5 s): app/compose.ts.
    const appRound = 6.5;
    const minutes = (total: number) => (total / 60).toFixed(1).replace('.', '\\.');
    expect(doc).toContain(`\`client_keep_alive.seconds\` ${keepAlive} on the ALB`);
    expect(doc).toMatch(
      new RegExp(
        `\\| \\*\\*fail over\\*\\* +\\| ${appRound} s \\+ ${seconds} s \\+ 60 s \\+ ${keepAlive} s +\\| ≈ 20 s \\| \\*\\*≈ ${minutes(appRound + seconds + 60 + keepAlive)} min\\*\\*`,
      ),
    );
    expect(doc).toMatch(
      new RegExp(`\\| \\*\\*fail back\\*\\* +\\| ${appRound} s \\+ ${seconds} s \\+ 60 s \\+ CloudFront's keep-alive +\\| ≈ 20 s \\| \\*\\*≈ ${minutes(appRound + seconds + 60)} min\\*\\*`),
    );
    expect(doc).toContain(`\`HealthCheckIntervalSeconds\` ${targetGroup.HealthCheckIntervalSeconds} × \`UnhealthyThresholdCount\` ${targetGroup.UnhealthyThresholdCount}`);
    expect(doc).toContain(`deregistration delay ${deregistrationDelay} s`);
  });
});

describe('alarms that reach a person', () => {
  test('when an alarm fires, then CloudWatch can publish to the topic: a customer managed key that lets it', () => {
    const topic = web.AlarmTopic!.Properties;
    expect(topic.KmsMasterKeyId).not.toBe('alias/aws/sns');
    expect(topic.KmsMasterKeyId).toEqual({ Ref: 'AlarmTopicKey' });
    const statements = web.AlarmTopicKey!.Properties.KeyPolicy.Statement as Node[];
    expect(statements).toContainEqual(
      expect.objectContaining({ Principal: { Service: ['cloudwatch.amazonaws.com'] }, Action: expect.arrayContaining(['kms:GenerateDataKey*', 'kms:Decrypt']) }),
    );
  });

  test('when metric math reads counts that exist only when non-zero, then every one is wrapped in FILL()', () => {
    for (const [name, alarm] of allTemplates.flatMap(([, t]) => resourcesOf(t, 'AWS::CloudWatch::Alarm'))) {
      const metrics = (alarm.Properties.Metrics ?? []) as Node[];
      const expression = metrics.find((m) => m.Expression)?.Expression as string | undefined;
      for (const metric of metrics.filter((m) => m.MetricStat)) {
        expect({ name, filled: expression?.includes(`FILL(${metric.Id},`) }).toEqual({ name, filled: true });
      }
    }
  });

  test('when a game day runs, then unhealthy hosts, replica lag, session throttles, the fleet and the failover itself are watched', () => {
    const watched = allTemplates
      .flatMap(([, t]) => resourcesOf(t, 'AWS::CloudWatch::Alarm'))
      .flatMap(([, a]) => [a.Properties.MetricName, ...((a.Properties.Metrics ?? []) as Node[]).map((m) => m.MetricStat?.Metric.MetricName)])
      .filter(Boolean);
    expect(watched).toEqual(
      expect.arrayContaining(['UnHealthyHostCount', 'ReplicaLag', 'ReadThrottleEvents', 'WriteThrottleEvents', 'HealthCheckStatus']),
    );
    expect(web.WebAutoScalingGroup!.Properties.NotificationConfigurations[0].NotificationTypes).toEqual(
      expect.arrayContaining(['autoscaling:EC2_INSTANCE_LAUNCH', 'autoscaling:EC2_INSTANCE_TERMINATE', 'autoscaling:EC2_INSTANCE_LAUNCH_ERROR']),
    );
    expect(resourcesOf(templates.web, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
  });

  test('when something is logged, then it outlives the instance: app logs, load balancer, CloudFront, RDS and VPC flow logs', () => {
    expect(web.AppLogGroup!.Properties.RetentionInDays).toBeGreaterThan(0);
    const attributes = web.LoadBalancer!.Properties.LoadBalancerAttributes as Node[];
    expect(attributes).toContainEqual({ Key: 'access_logs.s3.enabled', Value: 'true' });
    expect(edge.BackupDistribution!.Properties.DistributionConfig.Logging.Bucket).toBeDefined();
    expect(data.Database!.Properties.EnableCloudwatchLogsExports).toContain('postgresql');
    expect(resourcesOf(templates.network, 'AWS::EC2::FlowLog')).toHaveLength(1);
  });
});

describe('load balancer access logs', () => {
  test('when the region is one opened before August 2022, then the log bucket names its Elastic Load Balancing account', () => {
    // aws-cdk-lib carries AWS's own table of those accounts; ours must hold every one of them.
    const expected = Object.fromEntries(
      RegionInfo.regions.filter((region) => region.elbv2Account).map((region) => [region.name, { AccountId: region.elbv2Account }]),
    );
    expect(Object.keys(expected).length).toBeGreaterThan(20);
    expect((templates.data.Mappings as Node).LoadBalancerLogAccounts).toEqual(expected);
    // The condition that picks the account covers exactly the mapped regions.
    const conditions = templates.data.Conditions as Node;
    const grouped = (conditions.HasLoadBalancerLogAccount['Fn::Or'] as Node[]).flatMap((ref) =>
      (conditions[ref.Condition]['Fn::Or'] as Node[]).map((equals) => equals['Fn::Equals'][1] as string),
    );
    expect([...new Set(grouped)].sort()).toEqual(Object.keys(expected).sort());
    const statement = (data.LogsBucketPolicy!.Properties.PolicyDocument.Statement as Node[]).find((s) => s.Sid === 'LoadBalancerAccessLogs');
    expect(statement?.Principal['Fn::If'][0]).toBe('HasLoadBalancerLogAccount');
    expect(JSON.stringify(statement?.Principal['Fn::If'][1])).toContain('"Fn::FindInMap":["LoadBalancerLogAccounts",{"Ref":"AWS::Region"},"AccountId"]');
    expect(statement?.Principal['Fn::If'][2]).toEqual({ Service: 'logdelivery.elasticloadbalancing.amazonaws.com' });
    expect((templates.data.Parameters as Node).LoadBalancerLogAccountId).toBeUndefined();
  });
});

describe('costs that cannot run away', () => {
  test('when target tracking holds CPU above a T instance baseline, then credits are standard, not billed surplus', () => {
    const parameters = templates.web.Parameters as Node;
    expect(parameters.InstanceType.Default).toMatch(/^t\d/);
    expect(parameters.CpuCredits).toMatchObject({ Default: 'standard', AllowedValues: ['standard', 'unlimited', 'none'] });
    expect(only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.CreditSpecification).toEqual({
      'Fn::If': ['HasCpuCredits', { CpuCredits: { Ref: 'CpuCredits' } }, { Ref: 'AWS::NoValue' }],
    });
    const costs = readFileSync(path.join(__dirname, '..', '..', 'docs', 'deploying.md'), 'utf8');
    expect(costs).toMatch(/^\| T4g CPU credits +\| `CpuCredits` standard/m);
  });
});

describe('boots that cannot stall or loop', () => {
  test('when the group scales or rolls, then the parameters cannot freeze it and scale-out reacts within about a minute', () => {
    const rule = (templates.web.Rules as Node).MinSizeBelowMaxSize.Assertions as Node[];
    expect(rule[0]?.Assert).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'MinSize' }, { Ref: 'MaxSize' }] }] });
    const policies = resourcesOf(templates.web, 'AWS::AutoScaling::ScalingPolicy').map(([, p]) => p.Properties);
    expect(policies.map((p) => p.PolicyType)).toEqual(['TargetTrackingScaling']);
    expect(only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.Monitoring).toEqual({ Enabled: true });
  });

  test('when a boot is slow but succeeds, then the health check grace period outlasts it', () => {
    const asg = web.WebAutoScalingGroup!;
    const bootstrap = readFileSync(path.join(__dirname, '..', '..', 'scripts', 'bootstrap', 'bootstrap.sh'), 'utf8');
    const healthTimeoutSeconds = Number(/HEALTH_TIMEOUT_SECONDS="\$\{HEALTH_TIMEOUT_SECONDS:-(\d+)\}"/.exec(bootstrap)?.[1]);
    expect(healthTimeoutSeconds).toBeGreaterThan(0);
    // Package installs with retries and the artifact fetch take a few minutes at worst.
    expect(asg.Properties.HealthCheckGracePeriod).toBeGreaterThanOrEqual(healthTimeoutSeconds + 240);
    const signalTimeoutMinutes = Number(/^PT(\d+)M$/.exec(asg.CreationPolicy.ResourceSignal.Timeout)?.[1]);
    expect(signalTimeoutMinutes * 60).toBeGreaterThan(asg.Properties.HealthCheckGracePeriod);
  });

  test('when the user data installs packages, then it retries them and every failure sends the failure signal', () => {
    const userData = only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'][0] as string;
    expect(userData).toMatch(/^retry dnf install -y aws-cfn-bootstrap$/m);
    expect(userData).toMatch(/^trap 'signal_failure \$LINENO' ERR$/m);
    expect(userData).not.toMatch(/curl|https:\/\//);
  });
});

describe('data that is kept', () => {
  test('when the stack is deleted, then uploads stay, versioned, and old versions expire in uploads and releases', () => {
    expect(data.UploadsBucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    for (const name of ['UploadsBucket', 'ReleasesBucket']) {
      const bucket = data[name]!.Properties;
      expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket.LifecycleConfiguration.Rules[0].NoncurrentVersionExpiration.NoncurrentDays).toBeGreaterThan(0);
    }
  });

  test('when the database instance is deleted, then its automated backups stay', () => {
    expect(data.Database!.Properties.DeleteAutomatedBackups).toBe(false);
  });

  test('when a Region or account is lost, then AWS Backup has the database and the uploads, copied elsewhere if asked', () => {
    const selection = only(templates.data, 'AWS::Backup::BackupSelection').BackupSelection;
    expect(selection.Resources).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:${Database}' },
      { 'Fn::GetAtt': ['UploadsBucket', 'Arn'] },
    ]);
    const [rule] = only(templates.data, 'AWS::Backup::BackupPlan').BackupPlan.BackupPlanRule as Node[];
    expect(rule?.TargetBackupVault).toEqual({ Ref: 'BackupVault' });
    expect(rule?.CopyActions).toEqual({
      'Fn::If': [
        'HasBackupCopyVault',
        [{ DestinationBackupVaultArn: { Ref: 'BackupCopyVaultArn' }, Lifecycle: { DeleteAfterDays: { Ref: 'BackupRetentionDays' } } }],
        { Ref: 'AWS::NoValue' },
      ],
    });
    expect((templates.data.Conditions as Node).HasBackupCopyVault).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'BackupCopyVaultArn' }, ''] }] });
    expect(data.BackupVault).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const costs = readFileSync(path.join(__dirname, '..', '..', 'docs', 'deploying.md'), 'utf8');
    expect(costs).toMatch(/^\| AWS Backup +\|/m);
  });

  test('when RDS needs maintenance, then it happens in a set window', () => {
    expect(data.Database!.Properties.PreferredMaintenanceWindow).toMatch(/^[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d$/);
  });
});

describe('releases that cannot break boots or rollbacks', () => {
  test('when a release is fetched, then its key carries its checksum and the bucket refuses a put that could overwrite one', () => {
    const userData = only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'][0] as string;
    expect(userData).toContain("'s3://${ReleasesBucket}/releases/${ReleaseId}/${ArtifactSha256}/cloudwiki.tar.gz'");
    const statements = data.ReleasesBucketPolicy!.Properties.PolicyDocument.Statement as Node[];
    expect(statements).toContainEqual({
      Sid: 'DenyOverwritingReleases',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: { 'Fn::Sub': '${ReleasesBucket.Arn}/releases/*' },
      Condition: { Null: { 's3:if-none-match': 'true' } },
    });
  });

  test('when the web stack is updated, then the AMI is a plain id passed in, not an SSM parameter re-resolved on every update', () => {
    const parameters = templates.web.Parameters as Node;
    for (const [name, parameter] of Object.entries(parameters)) {
      // Subnet lists come through SSM on purpose (they may change); an AMI must not.
      expect({ name, type: parameter.Type }).not.toEqual({ name, type: expect.stringMatching(/^AWS::SSM::Parameter::Value<.*Image/) });
    }
    expect(parameters.ImageId).toMatchObject({ Type: 'AWS::EC2::Image::Id' });
    expect(parameters.ImageId.Default).toBeUndefined();
    expect(only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.ImageId).toEqual({ Ref: 'ImageId' });
  });

  test('when a release goes bad, then the alarms its rollback triggers name are outputs of the web stack', () => {
    const outputs = templates.web.Outputs as Node;
    expect(outputs.ServerErrorRateAlarmArn.Value).toEqual({ 'Fn::GetAtt': ['ServerErrorRateAlarm', 'Arn'] });
    expect(outputs.LatencyP99AlarmArn.Value).toEqual({ 'Fn::GetAtt': ['LatencyP99Alarm', 'Arn'] });
    const deploy = readFileSync(path.join(__dirname, '..', '..', 'scripts', 'deploy'), 'utf8');
    expect(deploy).toContain('stack_output "$web" ServerErrorRateAlarmArn');
    expect(deploy).toContain('stack_output "$web" LatencyP99AlarmArn');
  });
});

describe('the runbook matches the stack', () => {
  const operations = readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const bootstrap = readFileSync(path.join(__dirname, '..', '..', 'scripts', 'bootstrap', 'bootstrap.sh'), 'utf8');
  const userData = () => only(templates.web, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'][0] as string;
  const defaultOf = (name: string) => Number(new RegExp(`^${name}="\\$\\{${name}:-(\\d+)\\}"$`, 'm').exec(bootstrap)?.[1]);
  const userDataValue = (name: string) => Number(new RegExp(`^${name}='(\\d+)'$`, 'm').exec(userData())?.[1]);

  test('when docs/operations.md names an alarm, then the web stack defines it (or Auto Scaling makes it for target tracking)', () => {
    const alarmSection = operations.slice(operations.indexOf('## Alarms'), operations.indexOf('## Incidents'));
    const named = [...alarmSection.matchAll(/^\| `([A-Za-z0-9-…]+)`/gm)].map((match) => match[1] as string);
    expect(named.length).toBeGreaterThan(0);
    const alarms = resourcesOf(templates.web, 'AWS::CloudWatch::Alarm').map(([id]) => id);
    for (const name of named.filter((n) => !n.startsWith('TargetTracking-'))) expect({ name, defined: alarms.includes(name) }).toEqual({ name, defined: true });
    // Every alarm the stack defines is in the runbook.
    expect(alarms.filter((alarm) => !named.includes(alarm))).toEqual([]);
    expect(operations).not.toMatch(/step scaling/i);
  });

  test('when docs/operations.md says where the app logs, then it is the file the unit appends to and the agent ships', () => {
    expect(bootstrap).toMatch(/^readonly log_dir=\/var\/log\/cloudwiki$/m);
    expect(bootstrap).toMatch(/^StandardOutput=append:\$log_dir\/app\.log$/m);
    expect(operations).toContain('`/var/log/cloudwiki/app.log`');
    expect(operations).toContain(`\`/cloudwiki/<web stack>/app\``);
    expect(web.AppLogGroup!.Properties.LogGroupName).toEqual({ 'Fn::Sub': '/cloudwiki/${AWS::StackName}/app' });
    expect(operations).not.toMatch(/JSON lines on stdout \(`journalctl -u cloudwiki`/);
  });

  test('when an instance is scaled in or replaced, then deregistration, drain, systemd and the runbook agree, in that order', () => {
    const targetGroup = web.TargetGroup!.Properties;
    const deregistrationDelay = Number(
      (targetGroup.TargetGroupAttributes as Node[]).find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value,
    );
    const drainDelay = userDataValue('DRAIN_DELAY_MS') / 1000;
    const drainTimeout = userDataValue('DRAIN_TIMEOUT_MS') / 1000;
    const stopTimeout = drainDelay + drainTimeout + defaultOf('STOP_MARGIN_SECONDS');
    // The group deregisters first and waits out the delay; only then does SIGTERM arrive.
    expect(deregistrationDelay).toBeGreaterThan(drainTimeout);
    expect(drainDelay).toBeGreaterThan(targetGroup.HealthCheckIntervalSeconds * targetGroup.UnhealthyThresholdCount);
    expect(stopTimeout).toBeGreaterThan(drainDelay + drainTimeout);
    // No lifecycle hook holds a terminating instance: the runbook says so.
    expect(resourcesOf(templates.web, 'AWS::AutoScaling::LifecycleHook')).toEqual([]);
    expect(web.WebAutoScalingGroup!.Properties.LifecycleHookSpecificationList).toBeUndefined();
    const drain = operations.slice(operations.indexOf('## The drain sequence'), operations.indexOf('## Workers'));
    const order = ['deregisters it from the target group first', 'No lifecycle hook', 'systemd stops the `cloudwiki` unit with SIGTERM'];
    expect(order.map((step) => drain.indexOf(step))).toEqual([...order.map((step) => drain.indexOf(step))].sort((a, b) => a - b));
    for (const step of order) expect(drain).toContain(step);
    expect(drain).toContain(`deregistration delay, **${deregistrationDelay} s**`);
    expect(drain).toContain(`\`TimeoutStopSec\` (**${stopTimeout} s**`);
    expect(drain).toContain(`\`DRAIN_DELAY_MS\` (**${drainDelay} s**)`);
    expect(drain).toContain(`\`DRAIN_TIMEOUT_MS\` (**${drainTimeout} s**)`);
  });
});
