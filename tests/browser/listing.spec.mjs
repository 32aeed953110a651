/* A real browser against `sockit http serve`: Debian's Chromium, driven by
 * playwright-core, opens a listing, uploads a file through the form,
 * downloads it, deletes it, and leaves a screenshot of the listing.
 *
 *   SOCKIT=build/sockit node tests/browser/listing.spec.mjs
 *
 * Over HTTPS when SOCKIT_TLS_DIR names a directory with server.pem and
 * server.key (served with --tls), home/ (a HOME whose NSS database,
 * .pki/nssdb, trusts the CA that signed them: Chromium on Linux trusts what
 * that database trusts) and bare/ (a HOME without it). The steps are the
 * same, over https://, plus one: a browser without the CA refuses the
 * certificate. The screenshot is then listing-https.png. The request API
 * (the download's second fetch) runs in node, which trusts the CA through
 * NODE_EXTRA_CA_CERTS.
 *
 * SOCKIT is the binary under test (required). CHROMIUM overrides
 * /usr/bin/chromium; SOCKIT_ARTIFACTS overrides build/artifacts (relative
 * paths are taken from the repository root). tests/integration/test_browser.py
 * runs this file as part of `make test`; `make deps-browser` installs what it
 * needs (never `npx playwright install`: it downloads a browser of its own).
 *
 * The upload runs in a context with JavaScript off, so it proves the plain
 * HTML form works; the delete button needs JavaScript (confirm + fetch) and
 * runs in a second context with it on. Each step is a node:test test; after
 * a failure the later steps are skipped, and the process exits non-zero. */
import { spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOCKIT = process.env.SOCKIT ? path.resolve(ROOT, process.env.SOCKIT) : '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.resolve(ROOT, process.env.SOCKIT_ARTIFACTS || 'build/artifacts');
const TLS_DIR = process.env.SOCKIT_TLS_DIR ? path.resolve(ROOT, process.env.SOCKIT_TLS_DIR) : '';
const SCHEME = TLS_DIR ? 'https' : 'http';
const SCREENSHOT = path.join(ARTIFACTS, TLS_DIR ? 'listing-https.png' : 'listing.png');

/* One wait for something that should happen at once; the whole run, start
 * to screenshot, takes 2-4 s here, so 30 s means something hung. */
const WAIT_MS = 5000;
const RUN_MS = 30000;

/* The flags the machine notes give for Chromium as root on a closed
 * network: without the background-networking ones it keeps trying to reach
 * Google's hosts. Playwright adds --headless and a fresh, temporary
 * --user-data-dir of its own (and refuses one passed here). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

const SANITIZER_MARKS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error'];

const UPLOAD_NAME = 'upload me.bin';
/* Every byte value, then a pseudo-random tail: a body a text-mode or
 * charset-converting path would change. */
const UPLOAD_BYTES = (() => {
	const b = Buffer.alloc(256 + 70000);
	let x = 12345;
	for (let i = 0; i < b.length; i++) {
		x = (x * 1103515245 + 12345) >>> 0;
		b[i] = i < 256 ? i : x >>> 24;
	}
	return b;
})();

/* The directory served: two files (one with markup in its name) and a
 * subdirectory. */
const SEED = { 'hello.txt': 'hello, browser\n', 'a <b> & "c".txt': 'odd name\n' };
const SEED_DIR = 'docs';

const state = { dir: null, server: null, serverErr: '', base: null, browser: null };
let failed = false;

/* A test that is skipped once an earlier one failed: the steps build on
 * each other, and one clear failure is worth more than a cascade. */
function step(name, fn) {
	test(name, { timeout: 3 * WAIT_MS }, async (t) => {
		if (failed) {
			t.skip('an earlier step failed');
			return;
		}
		try {
			await fn(t);
		} catch (e) {
			failed = true;
			throw e;
		}
	});
}

function startServer(dir) {
	return new Promise((resolve, reject) => {
		const tls = TLS_DIR ? ['--tls', '--cert', path.join(TLS_DIR, 'server.pem'), '--key',
			path.join(TLS_DIR, 'server.key')] : [];
		const proc = spawn(SOCKIT, ['http', 'serve', ...tls, '-p', '0', '-b', '127.0.0.1',
			'--upload', '--allow-delete', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
		state.server = proc;
		const timer = setTimeout(() => reject(new Error(
			`no 'serving on' line from ${SOCKIT} within ${WAIT_MS} ms; stderr:\n${state.serverErr}`)),
		WAIT_MS);
		proc.stderr.setEncoding('utf8');
		proc.stderr.on('data', (chunk) => {
			state.serverErr += chunk;
			const m = new RegExp(`^serving on (${SCHEME}://127\\.0\\.0\\.1:\\d+/)$`, 'm')
				.exec(state.serverErr);
			if (m) {
				clearTimeout(timer);
				resolve(m[1]);
			}
		});
		proc.on('error', (e) => {
			clearTimeout(timer);
			reject(new Error(`cannot start ${SOCKIT}: ${e.message}`));
		});
		proc.on('exit', (code, sig) => {
			clearTimeout(timer);
			reject(new Error(`${SOCKIT} exited (${code ?? sig}) before serving; stderr:\n${state.serverErr}`));
		});
	});
}

/* SIGTERM is sockit's graceful stop: it must exit 0 within WAIT_MS. */
function stopServer() {
	const proc = state.server;
	if (!proc || proc.exitCode !== null || proc.signalCode !== null)
		return Promise.resolve(proc ? proc.exitCode : null);
	return new Promise((resolve) => {
		const timer = setTimeout(() => {
			proc.kill('SIGKILL');
		}, WAIT_MS);
		proc.once('exit', (code, sig) => {
			clearTimeout(timer);
			resolve(code ?? sig);
		});
		proc.kill('SIGTERM');
	});
}

async function cleanup() {
	if (state.browser) {
		await state.browser.close().catch(() => {});
		state.browser = null;
	}
	const status = await stopServer();
	if (state.dir) {
		fs.rmSync(state.dir, { recursive: true, force: true });
		state.dir = null;
	}
	return status;
}

/* The last resort: whatever hangs, the browser and the server go and the
 * run fails within RUN_MS. */
const watchdog = setTimeout(() => {
	console.error(`listing.spec.mjs: still running after ${RUN_MS} ms; giving up`);
	state.server?.kill('SIGKILL');
	state.browser?.close().catch(() => {});
	setTimeout(() => process.exit(1), 2000).unref();
}, RUN_MS);
watchdog.unref();
process.on('exit', () => state.server?.kill('SIGKILL'));

/* The rows of the listing as { name, type }, in page order. */
async function rows(page) {
	return page.locator('#listing tr.entry').evaluateAll((trs) =>
		trs.map((tr) => ({ name: tr.dataset.name, type: tr.dataset.type })));
}

function rowFor(page, name) {
	return page.locator(`#listing tr.entry[data-name=${JSON.stringify(name)}]`);
}

before(async () => {
	assert.ok(SOCKIT, 'set SOCKIT to the sockit binary under test');
	assert.ok(fs.existsSync(SOCKIT), `SOCKIT: ${SOCKIT} does not exist (run make)`);
	assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run make deps-browser`);
	state.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockit-browser-'));
	for (const [name, text] of Object.entries(SEED))
		fs.writeFileSync(path.join(state.dir, name), text);
	fs.mkdirSync(path.join(state.dir, SEED_DIR));
	state.base = await startServer(state.dir);
	state.browser = await launch('home');
});

/* Chromium, with HOME (and so the NSS database) from SOCKIT_TLS_DIR/home
 * over HTTPS. */
function launch(home) {
	const env = TLS_DIR ? { ...process.env, HOME: path.join(TLS_DIR, home) } : process.env;
	return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
		env, timeout: WAIT_MS * 2 });
}

after(async () => {
	const started = state.base !== null;
	const status = await cleanup();
	if (!started)
		return; /* before() failed, and said why */
	for (const mark of SANITIZER_MARKS)
		assert.ok(!state.serverErr.includes(mark), `sanitizer report from sockit:\n${state.serverErr}`);
	assert.equal(status, 0, `sockit exited ${status} after SIGTERM; stderr:\n${state.serverErr}`);
});

let noJs; /* page in a context with JavaScript off */

step('the listing shows every entry, directories first', async () => {
	const ctx = await state.browser.newContext({ javaScriptEnabled: false, acceptDownloads: true,
		viewport: { width: 900, height: 600 } });
	noJs = await ctx.newPage();
	noJs.setDefaultTimeout(WAIT_MS);
	const resp = await noJs.goto(state.base);
	assert.equal(resp.status(), 200);
	assert.match(resp.headers()['content-type'], /^text\/html/);
	if (TLS_DIR) {
		/* Verified by Chromium itself: no certificate error was waved through. */
		const sec = await resp.securityDetails();
		assert.equal(sec.protocol, 'TLS 1.3');
		assert.equal(sec.issuer, 'sockit test CA');
		assert.equal(sec.subjectName, 'localhost');
	}
	assert.equal(await noJs.title(), 'Index of /');
	assert.deepEqual(await rows(noJs), [
		{ name: SEED_DIR, type: 'dir' },
		{ name: 'a <b> & "c".txt', type: 'file' },
		{ name: 'hello.txt', type: 'file' },
	]);
	/* The name with markup is text, not elements, and its link carries its bytes. */
	const odd = rowFor(noJs, 'a <b> & "c".txt');
	assert.equal(await odd.locator('a').textContent(), 'a <b> & "c".txt');
	assert.equal(await odd.locator('a').getAttribute('href'), 'a%20%3Cb%3E%20%26%20%22c%22.txt');
	assert.equal(await noJs.locator('#listing b').count(), 0);
	assert.equal(await rowFor(noJs, SEED_DIR).locator('a').getAttribute('href'), 'docs/');
	/* Directories get no delete button; files do. */
	assert.equal(await rowFor(noJs, SEED_DIR).locator('button.delete').count(), 0);
	assert.equal(await rowFor(noJs, 'hello.txt').locator('button.delete').count(), 1);
});

step('a file uploaded through the form (no JavaScript) is listed after the 303', async () => {
	const form = noJs.locator('form#upload');
	assert.equal(await form.getAttribute('enctype'), 'multipart/form-data');
	await form.locator('input[type=file][name=file]').setInputFiles({
		name: UPLOAD_NAME, mimeType: 'application/octet-stream', buffer: UPLOAD_BYTES });
	const [post] = await Promise.all([
		noJs.waitForResponse((r) => r.request().method() === 'POST'),
		form.locator('[type=submit]').click(),
	]);
	assert.equal(post.status(), 303, `POST answered ${post.status()}: ${await post.text().catch(() => '')}`);
	await rowFor(noJs, UPLOAD_NAME).waitFor();
	assert.equal(noJs.url(), state.base);
	assert.deepEqual((await rows(noJs)).map((r) => r.name),
		[SEED_DIR, 'a <b> & "c".txt', 'hello.txt', UPLOAD_NAME]);
	assert.equal(await rowFor(noJs, UPLOAD_NAME).locator('.size').getAttribute('title'),
		`${UPLOAD_BYTES.length} bytes`);
	const onDisk = fs.readFileSync(path.join(state.dir, UPLOAD_NAME));
	assert.ok(onDisk.equals(UPLOAD_BYTES), `the file on disk differs (${onDisk.length} bytes)`);
	/* Uploads are written to an unnamed file: nothing else may be left behind. */
	assert.deepEqual(fs.readdirSync(state.dir).sort(),
		[...Object.keys(SEED), SEED_DIR, UPLOAD_NAME].sort());
});

step('its link downloads the same bytes', async () => {
	const link = rowFor(noJs, UPLOAD_NAME).locator('a');
	assert.equal(await link.getAttribute('href'), 'upload%20me.bin');
	/* application/octet-stream: Chromium saves it rather than showing it. */
	const [download] = await Promise.all([noJs.waitForEvent('download'), link.click()]);
	assert.equal(download.url(), new URL('upload%20me.bin', state.base).href);
	assert.equal(download.suggestedFilename(), UPLOAD_NAME);
	const got = fs.readFileSync(await download.path());
	assert.ok(got.equals(UPLOAD_BYTES), `the download differs (${got.length} bytes)`);
	/* The same through the context's request API, with the headers. */
	const resp = await noJs.request.get(download.url());
	assert.equal(resp.status(), 200);
	assert.equal(resp.headers()['content-length'], String(UPLOAD_BYTES.length));
	assert.ok((await resp.body()).equals(UPLOAD_BYTES));
});

step('its delete button (after confirm) deletes it, and a screenshot is saved', async () => {
	const ctx = await state.browser.newContext({ viewport: { width: 900, height: 600 } });
	const page = await ctx.newPage();
	page.setDefaultTimeout(WAIT_MS);
	const dialogs = [];
	page.on('dialog', (d) => {
		dialogs.push(`${d.type()}: ${d.message()}`);
		d.accept();
	});
	const pageErrors = [];
	page.on('pageerror', (e) => pageErrors.push(String(e)));
	await page.goto(state.base);
	await rowFor(page, UPLOAD_NAME).waitFor();
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	await page.screenshot({ path: SCREENSHOT, fullPage: true });

	const [del] = await Promise.all([
		page.waitForResponse((r) => r.request().method() === 'DELETE'),
		rowFor(page, UPLOAD_NAME).locator('button.delete').click(),
	]);
	assert.equal(del.status(), 204);
	assert.equal(del.url(), new URL('upload%20me.bin', state.base).href);
	/* The script reloads the listing after the DELETE. */
	await rowFor(page, UPLOAD_NAME).waitFor({ state: 'detached' });
	await page.waitForLoadState('load');
	assert.deepEqual(dialogs, [`confirm: Delete ${UPLOAD_NAME}?`]);
	assert.deepEqual((await rows(page)).map((r) => r.name), [SEED_DIR, 'a <b> & "c".txt', 'hello.txt']);
	assert.ok(!fs.existsSync(path.join(state.dir, UPLOAD_NAME)), 'the file is still on disk');
	assert.deepEqual(pageErrors, []);
	assert.equal(await page.evaluate(() => window.isSecureContext), true);
	const png = fs.readFileSync(SCREENSHOT);
	assert.ok(png.subarray(0, 8).equals(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1')), 'not a PNG');
	console.log(`# screenshot: ${path.relative(ROOT, SCREENSHOT) || SCREENSHOT}`);
});

if (TLS_DIR) {
	step('a browser without the test CA refuses the certificate', async () => {
		const bare = await launch('bare');
		try {
			const page = await bare.newPage();
			await assert.rejects(page.goto(state.base, { timeout: WAIT_MS }),
				/net::ERR_CERT_AUTHORITY_INVALID/);
		} finally {
			await bare.close();
		}
		/* That cost the server one connection: the trusting browser goes on. */
		const page = await state.browser.newPage();
		const resp = await page.goto(state.base, { timeout: WAIT_MS });
		assert.equal(resp.status(), 200);
	});
}
