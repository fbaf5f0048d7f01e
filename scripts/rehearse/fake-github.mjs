// A loopback stand-in for the GitHub REST endpoints the workflow's comment step calls, with GitHub's behaviour where
// the step depends on it: comments are paged (per_page at most 100, Link headers), a body over 65,536 characters is
// refused with 422, and writing needs a token whose job was granted pull-requests: write. Its state (the pull
// request's comments) lives in a JSON file, so successive rehearsed runs see what earlier ones left, and every request
// is appended to a log the rehearsal prints.
//
//   node fake-github.mjs --state STATE.json --log REQUESTS.jsonl --port-file PORT --pid-file PID   (serves until killed)
import http from 'node:http';
import fs from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const BODY_LIMIT = 65536;
const BOT = { login: 'github-actions[bot]', type: 'Bot' };

const load = () => (fs.existsSync(args.state) ? JSON.parse(fs.readFileSync(args.state, 'utf8')) : { next_id: 1, comments: [] });
const save = (state) => fs.writeFileSync(args.state, JSON.stringify(state, null, 2));
const log = (entry) => fs.appendFileSync(args.log, JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

// The rehearsal hands each job a token naming its permissions, as GitHub scopes GITHUB_TOKEN to the job's.
const canWrite = (req) => /pull-requests=write/.test(req.headers.authorization || '');

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://localhost');
    const body = raw ? JSON.parse(raw) : null;
    const state = load();
    let m;
    if (req.method === 'GET' && (m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/))) {
      const perPage = Math.min(100, Number(url.searchParams.get('per_page') || 30));
      const page = Number(url.searchParams.get('page') || 1);
      const all = state.comments.filter((c) => c.issue_number === Number(m[3]));
      const last = Math.max(1, Math.ceil(all.length / perPage));
      const links = [];
      const at = (p) => `<http://${req.headers.host}${url.pathname}?per_page=${perPage}&page=${p}>`;
      if (page < last) links.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`);
      if (page > 1) links.push(`${at(1)}; rel="first"`, `${at(page - 1)}; rel="prev"`);
      log({ method: 'GET', path: url.pathname, page, per_page: perPage, returned: Math.max(0, Math.min(perPage, all.length - (page - 1) * perPage)) });
      return reply(res, 200, all.slice((page - 1) * perPage, page * perPage), links.length ? { link: links.join(', ') } : {});
    }
    const write = req.method === 'POST' || req.method === 'PATCH';
    if (write && !canWrite(req)) {
      log({ method: req.method, path: url.pathname, status: 403 });
      return reply(res, 403, { message: 'Resource not accessible by integration' });
    }
    if (write && body && typeof body.body === 'string' && body.body.length > BODY_LIMIT) {
      log({ method: req.method, path: url.pathname, status: 422, length: body.body.length });
      return reply(res, 422, { message: 'Validation Failed', errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: `body is too long (maximum is ${BODY_LIMIT} characters)` }] });
    }
    if (req.method === 'POST' && (m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/))) {
      const comment = { id: state.next_id++, issue_number: Number(m[3]), user: BOT, body: body.body, created_at: new Date().toISOString() };
      state.comments.push(comment);
      save(state);
      log({ method: 'POST', path: url.pathname, status: 201, id: comment.id, length: body.body.length, body: body.body });
      return reply(res, 201, comment);
    }
    if (req.method === 'PATCH' && (m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/))) {
      const comment = state.comments.find((c) => c.id === Number(m[3]));
      if (!comment) return reply(res, 404, { message: 'Not Found' });
      comment.body = body.body;
      comment.updated_at = new Date().toISOString();
      save(state);
      log({ method: 'PATCH', path: url.pathname, status: 200, id: comment.id, length: body.body.length, body: body.body });
      return reply(res, 200, comment);
    }
    log({ method: req.method, path: url.pathname, status: 404 });
    reply(res, 404, { message: 'Not Found (the rehearsal fakes only the comment endpoints)' });
  });
});

server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(args['pid-file'], String(process.pid));
  fs.writeFileSync(args['port-file'], String(server.address().port));
});
