// Runs the jobs of a GitHub Actions workflow on this machine the way a GitHub-hosted runner does, for one event:
// jobs in the order their `needs` give, each in a fresh workspace; `if:` conditions and `${{ }}` expressions evaluated
// (the subset of GitHub's expression language workflows use: contexts, ==, !=, !, &&, ||, always(), success(),
// failure(), cancelled(), hashFiles(), contains(), startsWith(), format()); each `run:` step written to a file and run
// by its shell with GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH and the other
// variables GitHub sets; `uses:` steps replaced by their local equivalents (checkout: a clone at the event's commit;
// setup-dotnet: the installed SDK, checked against global.json; cache: nothing; upload/download-artifact: a folder
// per artifact; github-script: the script in Node with @actions/github's client, whose base URL is the loopback fake).
// No act and no Docker: neither is available where Repro's CI runs, and the steps need the host's .NET and PyTorch.
//
//   node runner.mjs --workflow W.yml --event NAME --event-path EVENT.json --repository owner/name --origin GIT_URL
//                   --sha SHA --ref REF --work DIR --api URL [--jobs a,b] [--test-filter F] [--run-id N]
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(process.env.REHEARSE_NODE_MODULES ? path.join(process.env.REHEARSE_NODE_MODULES, 'x.js') : import.meta.url);
const YAML = require('yaml');

const opts = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const workflow = YAML.parse(fs.readFileSync(opts.workflow, 'utf8'));
// GitHub refuses a workflow whose jobs or steps carry keys outside its schema; the yaml package reads a stray line such
// as `  : "1"` as a step key "" without complaint, so the rehearsal refuses what GitHub would (the keys of
// https://docs.github.com/actions/reference/workflow-syntax-for-github-actions).
const jobKeys = new Set(['name', 'permissions', 'needs', 'if', 'runs-on', 'environment', 'concurrency', 'outputs', 'env',
  'defaults', 'steps', 'timeout-minutes', 'strategy', 'continue-on-error', 'container', 'services', 'uses', 'with', 'secrets']);
const stepKeys = new Set(['id', 'if', 'name', 'uses', 'run', 'shell', 'with', 'env', 'continue-on-error', 'timeout-minutes',
  'working-directory']);
for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
  const bad = Object.keys(job).filter((k) => !jobKeys.has(k)).map((k) => `job ${jobName}: unexpected key '${k}'`);
  (job.steps ?? []).forEach((step, i) => bad.push(...Object.keys(step).filter((k) => !stepKeys.has(k))
    .map((k) => `job ${jobName}, step ${i + 1} (${step.name ?? step.uses ?? step.run?.split('\n')[0]}): unexpected key '${k}'`)));
  if (bad.length) {
    process.stderr.write(bad.map((b) => `${opts.workflow}: invalid workflow: ${b}\n`).join(''));
    process.exit(2);
  }
}
const event = JSON.parse(fs.readFileSync(opts['event-path'], 'utf8'));
const runId = opts['run-id'] || String(Date.now());
const runDir = path.join(path.resolve(opts.work), `run-${runId}`);
const artifactsDir = path.join(runDir, 'artifacts');
fs.mkdirSync(artifactsDir, { recursive: true });
const onlyJobs = opts.jobs ? new Set(opts.jobs.split(',')) : null;
const [owner, repo] = opts.repository.split('/');

const say = (text) => process.stdout.write(text + '\n');

// ---------- expressions ----------

function tokenize(src) {
  const tokens = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let j = i + 1, s = '';
      while (j < src.length) {
        if (src[j] === "'" && src[j + 1] === "'") { s += "'"; j += 2; continue; }
        if (src[j] === "'") break;
        s += src[j++];
      }
      tokens.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '&&', '||', '<=', '>='].includes(two)) { tokens.push({ t: 'op', v: two }); i += 2; continue; }
    if ('()[],.!<>'.includes(c)) { tokens.push({ t: 'op', v: c }); i++; continue; }
    const m = src.slice(i).match(/^(-?\d+(\.\d+)?|[A-Za-z_][A-Za-z0-9_-]*|\*)/);
    if (!m) throw new Error(`cannot read expression at '${src.slice(i)}'`);
    tokens.push(/^-?\d/.test(m[0]) ? { t: 'num', v: Number(m[0]) } : { t: 'id', v: m[0] });
    i += m[0].length;
  }
  return tokens;
}

function evaluate(src, ctx) {
  const tokens = tokenize(src);
  let p = 0;
  const peek = (v) => tokens[p] && tokens[p].t === 'op' && tokens[p].v === v;
  const take = (v) => { if (!peek(v)) throw new Error(`expected '${v}' in '${src}'`); p++; };
  const truthy = (v) => !(v === false || v === null || v === undefined || v === 0 || v === '' || Number.isNaN(v));
  const loose = (a, b) => (typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a == b); // eslint-disable-line eqeqeq
  const or = () => { let v = and(); while (peek('||')) { p++; const r = and(); v = truthy(v) ? v : r; } return v; };
  const and = () => { let v = unary(); while (peek('&&')) { p++; const r = unary(); v = truthy(v) ? r : v; } return v; };
  const unary = () => (peek('!') ? (p++, !truthy(unary())) : compare());
  const compare = () => {
    const left = primary();
    if (peek('==')) { p++; return loose(left, primary()); }
    if (peek('!=')) { p++; return !loose(left, primary()); }
    return left;
  };
  const primary = () => {
    const tok = tokens[p++];
    if (!tok) throw new Error(`unexpected end of '${src}'`);
    if (tok.t === 'op' && tok.v === '(') { const v = or(); take(')'); return v; }
    if (tok.t === 'str' || tok.t === 'num') return tok.v;
    if (tok.v === 'true') return true;
    if (tok.v === 'false') return false;
    if (tok.v === 'null') return null;
    if (peek('(')) {
      p++;
      const args = [];
      while (!peek(')')) { args.push(or()); if (peek(',')) p++; }
      take(')');
      return call(tok.v, args, ctx);
    }
    let value = ctx[tok.v];
    for (;;) {
      if (peek('.')) { p++; const key = tokens[p++].v; value = value == null ? undefined : value[key]; continue; }
      if (peek('[')) { p++; const key = or(); take(']'); value = value == null ? undefined : value[key]; continue; }
      break;
    }
    return value;
  };
  const result = or();
  if (p !== tokens.length) throw new Error(`unread tokens in '${src}'`);
  return result;
}

function call(name, args, ctx) {
  switch (name) {
    case 'always': return true;
    case 'cancelled': return false;
    case 'success': return ctx.__status === 'success';
    case 'failure': return ctx.__status === 'failure';
    case 'contains': return Array.isArray(args[0]) ? args[0].includes(args[1]) : String(args[0]).toLowerCase().includes(String(args[1]).toLowerCase());
    case 'startsWith': return String(args[0]).toLowerCase().startsWith(String(args[1]).toLowerCase());
    case 'format': return String(args[0]).replace(/\{(\d+)\}/g, (_, n) => String(args[Number(n) + 1]));
    case 'toJSON': return JSON.stringify(args[0], null, 2);
    case 'hashFiles': return `hash-of(${args.join(', ')})`; // only the cache key uses it, and the cache is a no-op here
    default: throw new Error(`unsupported function ${name}()`);
  }
}

const STATUS_FUNCTIONS = /\b(always|success|failure|cancelled)\s*\(/;

function condition(expr, ctx) {
  if (expr === undefined || expr === null) return ctx.__status === 'success';
  let src = String(expr).trim();
  const m = src.match(/^\$\{\{([\s\S]*)\}\}$/);
  if (m) src = m[1].trim();
  // GitHub adds success() && to a condition without a status function.
  return Boolean(evaluate(STATUS_FUNCTIONS.test(src) ? src : `success() && (${src})`, ctx));
}

function substitute(value, ctx) {
  if (typeof value !== 'string') return value;
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e) => {
    const v = evaluate(e.trim(), ctx);
    return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

// ---------- files GitHub hands a step ----------

function readKeyValueFile(file) {
  const out = {};
  if (!fs.existsSync(file)) return out;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = line.match(/^([^=<]+)<<(.+)$/);
    if (heredoc) {
      const end = heredoc[2];
      const value = [];
      for (i++; i < lines.length && lines[i] !== end; i++) value.push(lines[i]);
      out[heredoc[1]] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

// ---------- globs for the artifact steps ----------

function globToRegex(pattern) {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') { re += '.*'; i++; if (pattern[i + 1] === '/') i++; }
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function listFiles(dir) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** The files a multi-line `path:` input names, and the least common ancestor of its search paths (upload-artifact v4). */
function resolvePaths(spec, workspace) {
  const patterns = spec.split('\n').map((s) => s.trim()).filter(Boolean);
  const roots = patterns.map((pat) => {
    const literal = pat.split('/').findIndex((part) => /[*?[]/.test(part));
    const base = literal < 0 ? pat : pat.split('/').slice(0, literal).join('/');
    const full = path.resolve(workspace, base);
    return fs.existsSync(full) && fs.statSync(full).isFile() ? path.dirname(full) : full;
  });
  let common = roots[0].split(path.sep);
  for (const r of roots.slice(1)) {
    const parts = r.split(path.sep);
    let n = 0;
    while (n < common.length && n < parts.length && common[n] === parts[n]) n++;
    common = common.slice(0, n);
  }
  const files = new Set();
  for (const pat of patterns) {
    const full = path.resolve(workspace, pat);
    if (fs.existsSync(full) && fs.statSync(full).isDirectory()) listFiles(full).forEach((f) => files.add(f));
    else if (fs.existsSync(full)) files.add(full);
    else {
      const re = globToRegex(path.resolve(workspace, pat));
      listFiles(workspace).filter((f) => re.test(f)).forEach((f) => files.add(f));
    }
  }
  return { files: [...files].sort(), root: common.join(path.sep) || path.sep };
}

// ---------- actions, replaced ----------

function sh(cmd, cwd, env) {
  const r = spawnSync('bash', ['-c', cmd], { cwd, env, stdio: 'inherit' });
  return r.status === 0;
}

const ACTIONS = {
  'actions/checkout': (step, job) => {
    fs.rmSync(job.workspace, { recursive: true, force: true });
    const depth = String(step.with?.['fetch-depth'] ?? '1');
    const shallow = depth === '0' ? '' : `--depth ${depth} `;
    say(`    checkout: git clone ${shallow}${opts.origin} at ${opts.sha.slice(0, 12)} (${opts.ref})`);
    return sh(`git clone -q ${shallow}--no-checkout "${opts.origin}" "${job.workspace}" && cd "${job.workspace}" && git fetch -q origin "${opts.sha}" && git checkout -q --detach "${opts.sha}"`, path.dirname(job.workspace), job.env);
  },
  'actions/setup-dotnet': (step, job) => {
    const globalJson = path.join(job.workspace, step.with?.['global-json-file'] ?? 'global.json');
    const wanted = JSON.parse(fs.readFileSync(globalJson, 'utf8')).sdk?.version ?? '';
    const installed = spawnSync('dotnet', ['--list-sdks'], { encoding: 'utf8', env: job.env }).stdout.trim();
    // rollForward latestFeature (global.json): the same major.minor, any feature band at or above the asked one.
    const [maj, min, patch] = wanted.split('.').map(Number);
    const ok = installed.split('\n').map((l) => l.split(' ')[0].split('.').map(Number))
      .some(([a, b, c]) => a === maj && b === min && Math.floor(c / 100) >= Math.floor(patch / 100));
    say(`    setup-dotnet: global.json asks for ${wanted}; installed: ${installed.replace(/\n/g, '; ')} -> ${ok ? 'the installed SDK serves' : 'NO SDK of that band'}`);
    return ok;
  },
  'actions/cache': (step) => {
    say(`    cache: nothing restored or saved here (path ${step.with?.path}, key ${step.with?.key}); NuGet's own folder in $HOME stays between rehearsed runs, as a cache hit would`);
    return true;
  },
  'actions/upload-artifact': (step, job) => {
    const name = step.with?.name ?? 'artifact';
    const { files, root } = resolvePaths(step.with?.path ?? '', job.workspace);
    if (files.length === 0) {
      const mode = step.with?.['if-no-files-found'] ?? 'warn';
      say(`    upload-artifact: no files for '${name}' (${mode})`);
      return mode !== 'error';
    }
    const dest = path.join(artifactsDir, name);
    for (const f of files) {
      const target = path.join(dest, path.relative(root, f));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(f, target);
    }
    say(`    upload-artifact: ${files.length} file(s) as '${name}' (root ${path.relative(job.workspace, root) || '.'}) -> ${dest}`);
    return true;
  },
  'actions/download-artifact': (step, job) => {
    const name = step.with?.name;
    const source = path.join(artifactsDir, name);
    if (!fs.existsSync(source)) { say(`    download-artifact: no artifact '${name}' in this run`); return false; }
    const dest = path.resolve(job.workspace, step.with?.path ?? '.');
    fs.mkdirSync(dest, { recursive: true });
    fs.cpSync(source, dest, { recursive: true });
    say(`    download-artifact: '${name}' -> ${path.relative(job.workspace, dest) || '.'}`);
    return true;
  },
  'actions/github-script': (step, job, env) => {
    const inputs = { INPUT_SCRIPT: step.with?.script ?? '', 'INPUT_GITHUB-TOKEN': step.with?.['github-token'] ?? env.GITHUB_TOKEN };
    const r = spawnSync(process.execPath, [path.join(here, 'github-script.cjs')], { cwd: job.workspace, env: { ...env, ...inputs }, stdio: 'inherit' });
    return r.status === 0;
  },
};

// ---------- jobs and steps ----------

function permissionsToken(jobPermissions) {
  const perms = jobPermissions ?? workflow.permissions ?? {};
  const list = typeof perms === 'string' ? [`all=${perms}`] : Object.entries(perms).map(([k, v]) => `${k}=${v}`);
  return `rehearsal;${list.join(',')}`;
}

function runStep(step, index, job, ctx) {
  const label = step.name ?? (step.uses ? step.uses : String(step.run).split('\n')[0]);
  ctx.__status = job.status;
  if (!condition(step.if, ctx)) {
    say(`  - ${label}: skipped (if: ${step.if ?? 'success()'})`);
    if (step.id) ctx.steps[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
    return;
  }
  say(`  - ${label}`);
  const files = Object.fromEntries(['output', 'env', 'path', 'summary'].map((k) => [k, path.join(job.temp, `${k}-${index}`)]));
  Object.values(files).forEach((f) => fs.writeFileSync(f, ''));
  const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(String(v), ctx)]));
  const env = {
    ...job.env,
    ...stepEnv,
    GITHUB_OUTPUT: files.output, GITHUB_ENV: files.env, GITHUB_PATH: files.path, GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_ACTION: step.id ?? `__run_${index}`,
    PATH: [...job.paths, job.env.PATH].join(':'),
  };
  let ok;
  const started = Date.now();
  if (step.uses) {
    const action = step.uses.split('@')[0];
    if (!ACTIONS[action]) throw new Error(`no local equivalent of ${step.uses}`);
    step = { ...step, with: Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, substitute(String(v), ctx)])) };
    ok = ACTIONS[action](step, job, env);
  } else {
    let script = substitute(step.run, ctx);
    if (opts['test-filter'] && /^dotnet test\b/.test(script.trim())) {
      say(`    (rehearsal: this test step runs with --filter "${opts['test-filter']}"; .ci/run runs the whole suite itself)`);
      script = `${script.trim()} --filter "${opts['test-filter']}"\n`;
    }
    const file = path.join(job.temp, `step-${index}.sh`);
    fs.writeFileSync(file, script);
    // GitHub's shells on Linux: `bash -e {0}` by default, `bash --noprofile --norc -eo pipefail {0}` for shell: bash.
    const shell = step.shell === 'bash' ? ['--noprofile', '--norc', '-eo', 'pipefail', file] : ['-e', file];
    const cwd = step['working-directory'] ? path.resolve(job.workspace, step['working-directory']) : job.workspace;
    ok = spawnSync('bash', shell, { cwd, env, stdio: 'inherit' }).status === 0;
  }
  const outputs = readKeyValueFile(files.output);
  Object.assign(job.env, readKeyValueFile(files.env));
  job.paths.unshift(...fs.readFileSync(files.path, 'utf8').split('\n').filter(Boolean));
  const summary = fs.readFileSync(files.summary, 'utf8');
  if (summary) fs.appendFileSync(job.summary, summary.endsWith('\n') ? summary : summary + '\n');
  const outcome = ok ? 'success' : 'failure';
  const conclusion = ok || step['continue-on-error'] ? 'success' : 'failure';
  if (step.id) ctx.steps[step.id] = { outputs, outcome, conclusion };
  if (conclusion === 'failure') job.status = 'failure';
  say(`    => ${outcome} in ${((Date.now() - started) / 1000).toFixed(1)} s${Object.keys(outputs).length ? `; outputs ${JSON.stringify(outputs)}` : ''}`);
}

function runJob(id, spec, needs) {
  const ctxBase = {
    github: {
      event_name: opts.event, event, repository: opts.repository, repository_owner: owner, ref: opts.ref, sha: opts.sha,
      run_id: runId, run_number: '1', run_attempt: '1', server_url: 'https://github.com', api_url: opts.api, workflow: workflow.name, job: id,
      actor: event.sender?.login ?? 'rehearsal', head_ref: event.pull_request?.head?.ref ?? '', base_ref: event.pull_request?.base?.ref ?? '',
    },
    inputs: event.inputs ?? {}, runner: { os: 'Linux', arch: 'X64' }, env: {}, steps: {}, secrets: {}, needs,
  };
  const needList = [].concat(spec.needs ?? []);
  ctxBase.__status = needList.every((n) => needs[n]?.result === 'success') ? 'success' : 'failure';
  say(`\n## job ${id}${needList.length ? ` (needs ${needList.map((n) => `${n}: ${needs[n]?.result}`).join(', ')})` : ''}`);
  if (!condition(spec.if, ctxBase)) {
    say(`  skipped (if: ${spec.if ?? 'success()'})`);
    return { result: 'skipped', outputs: {} };
  }
  const jobDir = path.join(runDir, id);
  const job = {
    workspace: path.join(jobDir, 'work', repo),
    temp: path.join(jobDir, 'temp'),
    summary: path.join(runDir, `summary-${id}.md`),
    status: 'success',
    paths: [],
  };
  fs.mkdirSync(job.workspace, { recursive: true });
  fs.mkdirSync(job.temp, { recursive: true });
  fs.writeFileSync(job.summary, '');
  ctxBase.env = { ...(workflow.env ?? {}), ...(spec.env ?? {}) };
  job.env = {
    ...process.env, ...ctxBase.env,
    CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: job.workspace, GITHUB_EVENT_NAME: opts.event, GITHUB_EVENT_PATH: path.resolve(opts['event-path']),
    GITHUB_SHA: opts.sha, GITHUB_REF: opts.ref, GITHUB_REF_NAME: opts.ref.replace(/^refs\/(heads|tags|pull)\//, ''), GITHUB_REPOSITORY: opts.repository,
    GITHUB_REPOSITORY_OWNER: owner, GITHUB_RUN_ID: runId, GITHUB_RUN_NUMBER: '1', GITHUB_RUN_ATTEMPT: '1', GITHUB_JOB: id,
    GITHUB_ACTOR: ctxBase.github.actor, GITHUB_WORKFLOW: workflow.name, GITHUB_SERVER_URL: 'https://github.com', GITHUB_API_URL: opts.api,
    GITHUB_GRAPHQL_URL: `${opts.api}/graphql`, GITHUB_HEAD_REF: ctxBase.github.head_ref, GITHUB_BASE_REF: ctxBase.github.base_ref,
    GITHUB_TOKEN: permissionsToken(spec.permissions), RUNNER_OS: 'Linux', RUNNER_ARCH: 'X64', RUNNER_TEMP: job.temp,
  };
  (spec.steps ?? []).forEach((step, i) => runStep(step, i, job, ctxBase));
  ctxBase.__status = job.status;
  const outputs = Object.fromEntries(Object.entries(spec.outputs ?? {}).map(([k, v]) => [k, substitute(String(v), ctxBase)]));
  say(`## job ${id}: ${job.status}${Object.keys(outputs).length ? `; outputs ${JSON.stringify(outputs)}` : ''}`);
  return { result: job.status, outputs };
}

const earlier = opts.needs ? JSON.parse(fs.readFileSync(opts.needs, 'utf8')) : {};
const done = {};
const jobs = Object.entries(workflow.jobs).filter(([id]) => !onlyJobs || onlyJobs.has(id));
while (Object.keys(done).length < jobs.length) {
  const ready = jobs.find(([id, spec]) => !(id in done) && [].concat(spec.needs ?? []).every((n) => n in done || !jobs.some(([j]) => j === n)));
  if (!ready) throw new Error('jobs with circular needs');
  const [id, spec] = ready;
  // A job re-run alone (--jobs) sees the needs' results of the run it belongs to, from NEEDS_JSON.
  const needs = { ...earlier, ...done };
  done[id] = runJob(id, spec, needs);
}
fs.writeFileSync(path.join(runDir, 'needs.json'), JSON.stringify({ ...earlier, ...done }, null, 2));
say(`\n# run ${runId}: ${Object.entries(done).map(([id, r]) => `${id} ${r.result}`).join(', ')}`);
process.exit(Object.values(done).some((r) => r.result === 'failure') ? 1 : 0);
