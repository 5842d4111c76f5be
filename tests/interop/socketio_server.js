// Node's socket.io 4 server for horde's interop tests (127.0.0.1 only).
// The same little app as tests/transports/socketio_servers.py::PySocketIOServer, on "/" and "/chat":
//   echo  -> ack(...args)              note -> emit("noted", args)      push {n} -> n x "tick" {i}, "pushed" n
//   ask   -> call the client's "question", ack with its answer
//   slow  -> never acks                 bye  -> server disconnects the caller
//   fail  -> never acks; emit("error", {message: its argument})
//   auth {token: "bad"} -> connect_error "bad auth"; auth {welcome: n} -> n x "welcome" {i} on connect
// GET /stats -> JSON counters; POST /stats/reset.
// Usage: node socketio_server.js [port]   (0 = any free port; prints "listening <port>")
const http = require('http');
const { Server } = require('socket.io');

const counts = {};
const bump = (k) => { counts[k] = (counts[k] || 0) + 1; };

const httpServer = http.createServer((req, res) => {
  if (req.url === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(counts));
  } else if (req.url === '/stats/reset' && req.method === 'POST') {
    for (const k of Object.keys(counts)) delete counts[k];
    res.end('ok');
  } else if (!req.url.startsWith('/socket.io/')) {
    res.writeHead(404);
    res.end();
  }
});

const io = new Server(httpServer, { serveClient: false, maxHttpBufferSize: 1e7 });

for (const name of ['/', '/chat']) {
  const nsp = io.of(name);
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    if (auth.token === 'bad') return next(new Error('bad auth'));
    next();
  });
  nsp.on('connection', (socket) => {
    bump('connect');
    const auth = socket.handshake.auth || {};
    for (let i = 0; i < (auth.welcome || 0); i++) socket.emit('welcome', { i });
    socket.on('disconnect', () => bump('disconnect'));
    socket.on('echo', (...args) => {
      bump('echo');
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
    });
    socket.on('note', (...args) => {
      bump('note');
      socket.emit('noted', args);
    });
    socket.on('push', (data) => {
      for (let i = 0; i < data.n; i++) socket.emit('tick', { i });
      socket.emit('pushed', data.n);
    });
    socket.on('ask', (data, ack) => {
      socket.timeout(5000).emit('question', data, (err, answer) => ack(err ? null : answer));
    });
    socket.on('slow', () => {});
    socket.on('bye', () => socket.disconnect(true));
    socket.on('fail', (message) => {
      bump('fail');
      socket.emit('error', { message });
    });
  });
}

httpServer.listen(parseInt(process.argv[2] || '0', 10), '127.0.0.1', () => {
  console.log(`listening ${httpServer.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
