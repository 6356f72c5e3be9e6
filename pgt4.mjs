import fs from 'node:fs';
const t0 = performance.now();
const bytes = fs.readFileSync('/work/main/node_modules/@electric-sql/pglite/dist/pglite.wasm');
const mod = await WebAssembly.compile(bytes);
const bundle = new Blob([fs.readFileSync('/work/main/node_modules/@electric-sql/pglite/dist/pglite.data')]);
const { PGlite } = await import('@electric-sql/pglite');
const pg = new PGlite(process.argv[2], { pgliteWasmModule: mod, fsBundle: bundle, startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] });
await pg.waitReady;
const t1 = performance.now();
const c0 = process.cpuUsage();
await pg.exec('CREATE TABLE IF NOT EXISTS bench_t (id serial primary key, v text)');
const s = performance.now();
const phases = []; for (let p = 0; p < 4; p++) { const ps = performance.now(); for (let i = 0; i < 3000; i++) { await pg.query('INSERT INTO bench_t (v) VALUES ($1)', ['x' + i]); await pg.query('SELECT * FROM bench_t WHERE id = $1', [i]); } phases.push((performance.now() - ps) | 0); }
const e = performance.now();
console.log({ ready: (t1-t0)|0, phases: phases.join(" "), rss: process.memoryUsage().rss>>20 });
await pg.close(); process.exit(0);
