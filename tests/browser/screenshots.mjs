// Screenshots of the page before and after grading (`cargo xtask screenshots`): docs/page-before.png
// and docs/page-after.png, with the company assignment and a diagram that lacks EMPLOYEE.Salary.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { chromium } = createRequire(`${process.env.NODE_PATH || '.tools/node_modules'}/`)('playwright-core');
const BASE = process.env.EERD_BASE_URL;
const model = process.env.EERD_DEFAULT_MODEL === '1' ? '' : '?model=%2Fmodels%2Ftest-tiny%2F';
const out = process.argv[2] || 'docs';
mkdirSync(out, { recursive: true });

const profile = mkdtempSync(join(tmpdir(), 'eerd-shot-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.EERD_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1440, height: 1000 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const page = context.pages()[0] || (await context.newPage());
await page.goto(`${BASE}${model}#company`);
const grader = page.locator('eerd-grader');
for (let i = 0; i < 600 && (await grader.getAttribute('data-model')) !== 'ready'; i++) await page.waitForTimeout(100);
const reference = await (await fetch(`${BASE}assignments/company/reference.puml`)).text();
await grader.locator('textarea.editor').fill(reference.replace(/\n {2}Salary\n/, '\n').replace('WORKS_ON =M= PROJECT', 'WORKS_ON -M- PROJECT'));
await grader.locator('svg.diagram g.node').first().waitFor();
await page.screenshot({ path: join(out, 'page-before.png'), fullPage: true });
await grader.locator('button.grade').click();
for (let i = 0; i < 1200 && (await grader.getAttribute('data-grade')) !== 'graded'; i++) await page.waitForTimeout(100);
const first = grader.locator('button.finding').first();
if (await first.count()) await first.click();
await page.screenshot({ path: join(out, 'page-after.png'), fullPage: true });
console.log(`wrote ${join(out, 'page-before.png')} and ${join(out, 'page-after.png')}`);
await context.close();
rmSync(profile, { recursive: true, force: true });
