// A record processor written against aws-kcl (the npm MultiLang client) as its README shows it; the npm
// package ships no sample. It records what it sees to EVENTS_FILE (one JSON line each) and checkpoints
// after every batch. KILL_ON_DATA: exit mid-batch, once, on the record with that data. QUIET: no record events (bench).
'use strict';
const kcl = require('aws-kcl');
const fs = require('node:fs');

const events = process.env.EVENTS_FILE;
const log = (e) => fs.appendFileSync(events, JSON.stringify({ pid: process.pid, ...e }) + '\n');
let shardId;

kcl({
  initialize(input, done) {
    shardId = input.shardId;
    log({ event: 'initialize', shardId, sequenceNumber: input.sequenceNumber });
    done();
  },
  processRecords(input, done) {
    let last;
    for (const r of input.records) {
      const data = Buffer.from(r.data, 'base64').toString();
      if (data === process.env.KILL_ON_DATA && !fs.existsSync(`${events}.killed`)) {
        fs.writeFileSync(`${events}.killed`, shardId);
        process.exit(9);
      }
      if (!process.env.QUIET) log({ event: 'record', shardId, sequenceNumber: r.sequenceNumber, data });
      last = r.sequenceNumber;
    }
    if (!last) return done();
    input.checkpointer.checkpoint(last, (err) => {
      log({ event: 'checkpoint', shardId, sequenceNumber: last, error: err || null });
      done();
    });
  },
  leaseLost(input, done) {
    log({ event: 'leaseLost', shardId });
    done();
  },
  shardEnded(input, done) {
    input.checkpointer.checkpoint((err) => {
      log({ event: 'shardEnded', shardId, error: err || null });
      done();
    });
  },
  shutdownRequested(input, done) {
    input.checkpointer.checkpoint((err) => {
      log({ event: 'shutdownRequested', shardId, error: err || null });
      done();
    });
  },
}).run();
