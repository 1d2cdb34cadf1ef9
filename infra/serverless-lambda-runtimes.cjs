// A Serverless Framework v3 plugin of four lines: v3.40's configuration schema lists Lambda's Node
// runtimes up to nodejs20.x, so `runtime: nodejs24.x` (the default of serverless.yml) printed an
// "Invalid configuration" warning on every command, though v3 packages and deploys it unchanged.
// This adds the Node runtimes Lambda has offered since; the schema still rejects a misspelt one.
/* global module */
module.exports = class LambdaRuntimes {
  constructor(serverless) {
    const runtimes = serverless.configSchemaHandler.schema.definitions.awsLambdaRuntime.enum;
    for (const runtime of ['nodejs22.x', 'nodejs24.x']) if (!runtimes.includes(runtime)) runtimes.push(runtime);
  }
};
