// natsd with the official JavaScript client (npm "nats" 2.x), on Node's built-in test runner.
// Starts its own natsd (NATSD_BIN) on a random port and stops it at the end.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, StringCodec, headers, ErrorCode } from "nats";

const sc = StringCodec();
let server;
let url;

before(async () => {
  const bin = process.env.NATSD_BIN;
  assert.ok(bin, "NATSD_BIN must point at the natsd binary");
  server = spawn(bin, ["-a", "127.0.0.1", "-p", "-1"], { stdio: ["ignore", "pipe", "pipe"] });
  url = await new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error("natsd did not start: " + log)), 10000);
    const onData = (d) => {
      log += d.toString();
      const m = log.match(/Listening for client connections on 127\.0\.0\.1:(\d+)/);
      if (m && log.includes("Server is ready")) {
        clearTimeout(timer);
        resolve(`127.0.0.1:${m[1]}`);
      }
    };
    server.stdout.on("data", onData);
    server.stderr.on("data", onData);
    server.on("exit", (code) => reject(new Error(`natsd exited ${code}: ${log}`)));
  });
});

after(async () => {
  const exited = new Promise((resolve) => server.on("exit", (code) => resolve(code)));
  server.kill("SIGTERM");
  assert.equal(await exited, 0, "natsd should exit cleanly");
});

async function collect(sub, n, ms = 5000) {
  const got = [];
  const timer = setTimeout(() => sub.unsubscribe(), ms);
  for await (const m of sub) {
    got.push(m);
    if (got.length === n) break;
  }
  clearTimeout(timer);
  return got;
}

test("publish and subscribe, in order", async () => {
  const a = await connect({ servers: url });
  const b = await connect({ servers: url });
  const sub = b.subscribe("js.orders");
  await b.flush();
  for (let i = 0; i < 500; i++) a.publish("js.orders", sc.encode(`o${i}`));
  await a.flush();
  const got = await collect(sub, 500);
  assert.equal(got.length, 500);
  got.forEach((m, i) => assert.equal(sc.decode(m.data), `o${i}`));
  await a.close();
  await b.close();
});

test("wildcards", async () => {
  const nc = await connect({ servers: url });
  const star = nc.subscribe("js.*.x");
  const full = nc.subscribe("js.>");
  await nc.flush();
  nc.publish("js.a.x", sc.encode("1"));
  nc.publish("js.a.b.c", sc.encode("2"));
  await nc.flush();
  assert.deepEqual((await collect(star, 1)).map((m) => m.subject), ["js.a.x"]);
  assert.deepEqual((await collect(full, 2)).map((m) => m.subject), ["js.a.x", "js.a.b.c"]);
  await nc.close();
});

test("queue group: each message to exactly one member", async () => {
  const conns = await Promise.all([1, 2, 3].map(() => connect({ servers: url })));
  let total = 0;
  const counts = [0, 0, 0];
  conns.forEach((c, i) =>
    c.subscribe("js.work", { queue: "workers", callback: () => { counts[i]++; total++; } }));
  await Promise.all(conns.map((c) => c.flush()));
  const pub = await connect({ servers: url });
  for (let i = 0; i < 900; i++) pub.publish("js.work");
  await pub.flush();
  await Promise.all(conns.map((c) => c.flush()));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(total, 900);
  counts.forEach((n) => assert.ok(n > 150, `uneven spread ${counts}`));
  await pub.close();
  await Promise.all(conns.map((c) => c.close()));
});

test("request/reply and no responders", async () => {
  const svc = await connect({ servers: url });
  svc.subscribe("js.echo", { callback: (_, m) => m.respond(sc.encode("re:" + sc.decode(m.data))) });
  await svc.flush();
  const cli = await connect({ servers: url });
  for (let i = 0; i < 50; i++) {
    const r = await cli.request("js.echo", sc.encode(`q${i}`), { timeout: 5000 });
    assert.equal(sc.decode(r.data), `re:q${i}`);
  }
  await assert.rejects(cli.request("js.nobody", sc.encode("x"), { timeout: 5000 }),
    (err) => err.code === ErrorCode.NoResponders);
  await cli.close();
  await svc.close();
});

test("headers", async () => {
  const nc = await connect({ servers: url });
  const sub = nc.subscribe("js.h");
  const h = headers();
  h.set("Trace-Id", "t-1");
  h.append("Multi", "a");
  h.append("Multi", "b");
  nc.publish("js.h", sc.encode("body"), { headers: h });
  const [m] = await collect(sub, 1);
  assert.equal(m.headers.get("Trace-Id"), "t-1");
  assert.deepEqual(m.headers.values("Multi"), ["a", "b"]);
  assert.equal(sc.decode(m.data), "body");
  await nc.close();
});

test("auto-unsubscribe after max messages", async () => {
  const nc = await connect({ servers: url });
  const sub = nc.subscribe("js.max", { max: 3 });
  await nc.flush();
  for (let i = 0; i < 10; i++) nc.publish("js.max");
  await nc.flush();
  const got = await collect(sub, 10, 500);
  assert.equal(got.length, 3);
  await nc.close();
});

test("drain", async () => {
  const nc = await connect({ servers: url });
  let n = 0;
  nc.subscribe("js.drain", { callback: () => n++ });
  await nc.flush();
  const pub = await connect({ servers: url });
  for (let i = 0; i < 100; i++) pub.publish("js.drain");
  await pub.flush();
  await nc.flush();
  await nc.drain();
  assert.equal(n, 100);
  assert.ok(nc.isClosed());
  await pub.close();
});
