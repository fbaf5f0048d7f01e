// actions/github-script@v7's way of running a script, for the rehearsal: the `script` input as the body of an async
// function of (require, __original_require__, github, octokit, context, core, exec, glob, io, fetch), with `github` the
// client of @actions/github's getOctokit (REST methods and paginate) for the step's token. That client reads its base
// URL from GITHUB_API_URL, which the rehearsal points at the loopback fake.
const path = require('node:path');
const { createRequire } = require('node:module');
const modules = process.env.REHEARSE_NODE_MODULES;
const need = createRequire(path.join(modules, 'x.js'));
const { getOctokit, context } = need('@actions/github');
const core = need('@actions/core');

const script = process.env.INPUT_SCRIPT;
const token = process.env['INPUT_GITHUB-TOKEN'];
const github = getOctokit(token);
const userRequire = createRequire(path.join(process.cwd(), 'x.js'));
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const unavailable = (name) => new Proxy({}, { get: () => { throw new Error(`${name} is not provided by the rehearsal`); } });
const fn = new AsyncFunction('require', '__original_require__', 'github', 'octokit', 'context', 'core', 'exec', 'glob', 'io', 'fetch', script);
fn(userRequire, userRequire, github, github, context, core, unavailable('exec'), unavailable('glob'), unavailable('io'), globalThis.fetch)
  .then(() => process.exit(0))
  .catch((error) => {
    core.setFailed(error.message);
    process.exit(1);
  });
