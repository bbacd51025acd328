// Failure messages and stack traces can carry personal data (an SMTP server's "550 <address>:
// recipient rejected"), so they travel as an encoded payload, which our codec then encrypts.
// CommonJS on purpose: the SDK loads this file with require() in clients and workers, and
// bundles it into the workflow sandbox, where failures of workflow code are converted.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
