'use strict';
// The small process that test/helpers/spawner.ts starts the suite's child processes from: see there
// for why. It runs each command it is sent with child_process.spawn and relays what happens to it
// over the IPC channel: pid, stdout and stderr, exit and close. It sends its parent nothing else,
// and it ends, killing what is still running, when its parent goes away.
const { spawn } = require('node:child_process');

const children = new Map();
const send = (message) => {
  if (process.connected) process.send(message);
};

process.on('message', (message) => {
  const { id } = message;
  if (message.t === 'spawn') {
    let child;
    try {
      child = spawn(message.command, message.args, message.options);
    } catch (error) {
      send({ t: 'error', id, message: error.message, code: error.code });
      send({ t: 'close', id, code: null, signal: null });
      return;
    }
    children.set(id, child);
    child.on('spawn', () => send({ t: 'spawn', id, pid: child.pid }));
    child.on('error', (error) => send({ t: 'error', id, message: error.message, code: error.code, errno: error.errno, syscall: error.syscall }));
    for (const [fd, stream] of [[1, child.stdout], [2, child.stderr]]) {
      if (stream) stream.on('data', (data) => send({ t: 'data', id, fd, data }));
    }
    // The test may end stdin after the command exited: EPIPE then is no one's business.
    if (child.stdin) child.stdin.on('error', () => {});
    child.on('exit', (code, signal) => send({ t: 'exit', id, code, signal }));
    child.on('close', (code, signal) => {
      children.delete(id);
      send({ t: 'close', id, code, signal });
    });
    return;
  }
  const child = children.get(id);
  if (!child) return;
  if (message.t === 'stdin') child.stdin?.write(message.data);
  else if (message.t === 'stdin-end') child.stdin?.end();
  else if (message.t === 'kill') child.kill(message.signal);
});

process.on('disconnect', () => {
  for (const child of children.values()) child.kill('SIGKILL');
  process.exit(0);
});
