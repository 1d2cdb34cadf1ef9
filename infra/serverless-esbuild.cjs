// serverless-esbuild's options for `serverless.yml` (`custom.esbuild: ${file(./infra/serverless-esbuild.cjs)}`):
// the esbuild options of infra/bundle.mjs for the stage's S3 client (`params.s3Client`: fetch, the
// default, leaves the AWS SDK out of the bundle; sdk keeps it), so `serverless package` builds the
// same bundle as the tests and the demo, plus the few settings that belong to the plugin. CommonJS
// because the Serverless Framework loads `${file(...)}` sources with require(); bundle.mjs is ESM,
// hence import().
/* global module */
module.exports = async ({ resolveVariable }) => {
  const { buildOptionsFor } = await import('./bundle.mjs');
  const options = buildOptionsFor(await resolveVariable('param:s3Client'));
  return {
    ...options,
    // An ESM bundle must end in .mjs: the zip has no package.json with "type": "module".
    outputFileExtension: '.mjs',
    // Externals are normally installed with npm into the zip; the only one (cbor-extract, optional
    // and native) stays out, so packaging never runs npm and never needs the network.
    exclude: options.external,
  };
};
