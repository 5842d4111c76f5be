// Node's socket.io 4 with connectionStateRecovery, for horde's reconnect tests.
//   drop        -> the server cuts the transport (recoverable: "forced server close"),
//                  then emits "missed" n=1 while the client is away (replayed on recovery)
//   tick {n}    -> emits "tick" n (an event carrying an offset)
//   echo        -> ack(...args)
// Usage: node socketio_recovery_server.js   (prints "listening <port>")
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer, {
  serveClient: false,
  connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true },
});

io.on('connection', (socket) => {
  socket.on('echo', (...args) => { const ack = args.pop(); ack(...args); });
  socket.on('tick', (n) => socket.emit('tick', n));
  socket.on('drop', () => {
    const id = socket.id;
    socket.conn.close();
    setTimeout(() => io.to(id).emit('missed', 1), 50);
  });
});

httpServer.listen(0, '127.0.0.1', () => {
  console.log(`listening ${httpServer.address().port}`);
});
