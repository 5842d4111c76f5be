// Node's `ws` library as a WebSocket echo server for horde's client: `node ws_server.js PORT
// [deflate]` prints "listening <port>". It pings every client each 50 ms, sends
// "part1-part2" as two fragments when asked "frag", N bytes when asked "big:N", closes with
// 4000 when asked "close4000", and counts what it received at GET /stats.
const http = require('http');
const { WebSocketServer } = require('ws');

const deflate = process.argv[3] === 'deflate';
const stats = { messages: 0, bytes: 0 };
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(stats));
});
const wss = new WebSocketServer({
  server, perMessageDeflate: deflate ? { threshold: 0 } : false,
  handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
});
wss.on('connection', (ws) => {
  const pinger = setInterval(() => ws.ping('heartbeat'), 50);
  ws.on('close', () => clearInterval(pinger));
  ws.on('message', (data, isBinary) => {
    stats.messages += 1;
    stats.bytes += data.length;
    const text = isBinary ? null : data.toString();
    if (text === 'close4000') return ws.close(4000, 'bye now');
    if (text === 'frag') {
      ws.send('part1-', { fin: false });
      return ws.send('part2', { fin: true });
    }
    if (text && text.startsWith('big:')) return ws.send(Buffer.alloc(+text.slice(4), 120));
    return ws.send(data, { binary: isBinary });
  });
});
server.listen(+process.argv[2], '127.0.0.1', () => console.log(`listening ${server.address().port}`));
