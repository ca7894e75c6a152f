// Imported first by npm start and the local CLIs, before any AWS SDK client loads. Node 20 is what these machines run;
// the SDK's warning about Node 22 is for deployments (docs/deploying.md), not for local tools.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
