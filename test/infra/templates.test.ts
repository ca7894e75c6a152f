import path from 'node:path';
import { deepHealthPath, healthPath } from '../../app/routes/health';
import { sessionTableKey, sessionTtlAttribute } from '../../app/sessions-table';
import { readTemplate, type Template } from '../../scripts/infra/cfn-yaml';
import { backupSiteErrorDocument, backupSiteIndexDocument } from '../../scripts/services/s3';

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
    expect(asg.VPCZoneIdentifier).toEqual({ 'Fn::Split': [',', { 'Fn::ImportValue': { 'Fn::Sub': '${NetworkStackName}:AppSubnetIds' } }] });
    const appSubnets = subnetsInOutput('AppSubnetIds');
    expect(new Set(appSubnets.map(azIndexOfSubnet)).size).toBeGreaterThanOrEqual(2);
    const minSize = (templates.web.Parameters as Node).MinSize;
    expect(asg.MinSize).toEqual({ Ref: 'MinSize' });
    expect(minSize.Default).toBeGreaterThanOrEqual(2);
    expect(minSize.MinValue).toBeGreaterThanOrEqual(2);
    expect(asg.HealthCheckType).toBe('ELB');
    expect(asg.HealthCheckGracePeriod).toBeGreaterThan(0);
  });

  test('when instances launch or roll, then CloudFormation waits for their cfn-signal', () => {
    const [, asg] = resourcesOf(templates.web, 'AWS::AutoScaling::AutoScalingGroup')[0] as [string, Node];
    expect(asg.CreationPolicy.ResourceSignal).toEqual({ Count: { Ref: 'MinSize' }, Timeout: expect.stringMatching(/^PT\d+M$/) });
    expect(asg.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ WaitOnResourceSignals: true, MinInstancesInService: { Ref: 'MinSize' } });
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
      expect([statement.Resource].flat()).not.toContain('*');
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
    }
    expect(allows.map((statement) => statement.Sid)).toEqual(
      expect.arrayContaining(['Sessions', 'Uploads', 'Secrets', 'ReleaseArtifacts']),
    );
  });

  test('when a bucket is created, then its policy refuses plain HTTP and only the backup website is public', () => {
    const buckets = resourcesOf(templates.data, 'AWS::S3::Bucket');
    const policies = resourcesOf(templates.data, 'AWS::S3::BucketPolicy').map(([, p]) => p.Properties);
    for (const [name, bucket] of buckets) {
      const policy = policies.find((p) => p.Bucket.Ref === name);
      const denyInsecure = policy?.PolicyDocument.Statement.find(
        (s: Node) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      );
      expect({ name, denyInsecure: denyInsecure?.Resource }).toEqual({
        name,
        denyInsecure: [{ 'Fn::GetAtt': [name, 'Arn'] }, { 'Fn::Sub': `\${${name}.Arn}/*` }],
      });
      const block = bucket.Properties.PublicAccessBlockConfiguration;
      const isWebsite = bucket.Properties.WebsiteConfiguration !== undefined;
      expect({ name, block }).toEqual({
        name,
        block: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: !isWebsite, RestrictPublicBuckets: !isWebsite },
      });
    }
    expect(buckets.filter(([, b]) => b.Properties.WebsiteConfiguration).map(([name]) => name)).toEqual(['BackupSiteBucket']);
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
    expect(only(templates.edge, 'AWS::Route53::HealthCheck').HealthCheckConfig.ResourcePath).toBe(deepHealthPath);
  });

  test('when sessions are stored, then the table key and TTL attribute are the ones the app uses', () => {
    const table = only(templates.data, 'AWS::DynamoDB::Table');
    expect(table.KeySchema).toEqual([{ AttributeName: sessionTableKey, KeyType: 'HASH' }]);
    expect(table.AttributeDefinitions).toEqual([{ AttributeName: sessionTableKey, AttributeType: 'S' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: sessionTtlAttribute, Enabled: true });
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  test('when the backup site is hosted, then the bucket serves the pages static-site:build writes', () => {
    const website = (templates.data.Resources as Record<string, Node>).BackupSiteBucket!.Properties.WebsiteConfiguration;
    expect(website).toEqual({ IndexDocument: backupSiteIndexDocument, ErrorDocument: backupSiteErrorDocument });
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
