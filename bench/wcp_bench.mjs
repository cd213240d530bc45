// Times whatsapp-chat-parser (npm) on one export; prints "seconds messages".
import { readFileSync } from 'node:fs';
import { parseString } from 'whatsapp-chat-parser';

const text = readFileSync(process.argv[2], 'utf8');
const start = process.hrtime.bigint();
const messages = parseString(text);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`${seconds.toFixed(4)} ${messages.length}`);
