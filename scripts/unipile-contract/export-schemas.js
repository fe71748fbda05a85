#!/usr/bin/env node
// Exports the response schemas of Unipile's official SDK (unipile-node-sdk) to JSON Schema files that the
// Python suite validates the simulator and the client against (tests/contract/schemas/).
//
//   cd scripts/unipile-contract && npm ci && node export-schemas.js
//
// The SDK checks each response with a compiled TypeBox validator; we take the very validators its methods
// use (validator.schema and validator.references), so the exported files say exactly what the SDK accepts.
// TypeBox schemas are JSON Schema except for the SDK's custom kinds (checked by JavaScript functions):
// each is translated below into the JSON Schema that accepts the same values, and an unknown kind stops
// the export rather than being written out as something that accepts anything.
'use strict';

const fs = require('fs');
const path = require('path');
const { Kind, OptionalKind } = require('@sinclair/typebox');

const SDK = 'unipile-node-sdk';
// The SDK's `exports` map hides package.json: find it next to the resolved entry point (dist/cjs/index.js).
const sdkRoot = path.resolve(path.dirname(require.resolve(SDK)), '..', '..');
const sdkVersion = JSON.parse(fs.readFileSync(path.join(sdkRoot, 'package.json'), 'utf8')).version;
const typeboxVersion = JSON.parse(
  fs.readFileSync(path.join(path.dirname(require.resolve('@sinclair/typebox')), 'package.json'), 'utf8'),
).version;
const OUT = path.resolve(__dirname, '..', '..', 'tests', 'contract', 'schemas');

function sdkModule(rel) {
  return require(path.join(sdkRoot, 'dist', 'cjs', rel));
}

// name: file name; module + validator: what the SDK methods use; methods: SDK calls; routes: Unipile v1
// routes (after /api/v1) whose 2xx body this schema describes. Only LinkedIn-relevant responses.
const RESPONSES = [
  // accounts and checkpoints
  { name: 'AccountList', module: 'accounts/accounts-list.schema.js', validator: 'AccountListResponseValidator',
    methods: ['account.getAll'], routes: ['GET /accounts'] },
  { name: 'Account', module: 'accounts/account.types.js', validator: 'AccountApiResponseValidator',
    methods: ['account.getOne'], routes: ['GET /accounts/{account_id}'] },
  { name: 'AccountConnect', module: 'accounts/accounts-create.types.js',
    validator: 'AccountConnectApiResponseValidator',
    methods: ['account.connect', 'account.connectLinkedin', 'account.connectLinkedinWithCookie'],
    routes: ['POST /accounts'] },
  { name: 'AccountReconnect', module: 'accounts/accounts-reconnect.types.js',
    validator: 'AccountReconnectApiResponseValidator',
    methods: ['account.reconnect', 'account.reconnectLinkedin', 'account.reconnectLinkedinWithCookie'],
    routes: ['POST /accounts/{account_id}'] },
  { name: 'AccountSolveCheckpoint', module: 'accounts/accounts-reconnect.types.js',
    validator: 'AccountSolveCheckpointApiResponseValidator',
    methods: ['account.solveCodeCheckpoint'], routes: ['POST /accounts/checkpoint'] },
  { name: 'AccountDeleted', module: 'accounts/accounts-delete.types.js',
    validator: 'AccountDeletedApiResponseValidator',
    methods: ['account.delete'], routes: ['DELETE /accounts/{account_id}'] },
  { name: 'AccountResync', module: 'accounts/accounts-resync.types.js', validator: 'AccountResyncResponseValidator',
    methods: ['account.resyncLinkedinAccount'], routes: ['GET /accounts/{account_id}/sync'] },
  { name: 'HostedAuthUrl', module: 'hosted/hosted-auth-link.types.js', validator: 'HostedAuthLinkResponseValidator',
    methods: ['account.createHostedAuthLink'], routes: ['POST /hosted/accounts/link'] },
  // users, profiles, relations, invitations
  { name: 'UserProfile', module: 'users/user-profile.types.js', validator: 'UserProfileApiResponseValidator',
    methods: ['users.getProfile'], routes: ['GET /users/{identifier}'] },
  { name: 'AccountOwnerProfile', module: 'users/account-owner-profile.js',
    validator: 'AccountOwnerProfileApiResponseValidator', methods: ['users.getOwnProfile'], routes: ['GET /users/me'] },
  { name: 'UserRelationsList', module: 'users/user-relations-list.types.js',
    validator: 'UserRelationsListApiResponseValidator',
    methods: ['users.getAllRelations'], routes: ['GET /users/relations'] },
  { name: 'UserInvitationSent', module: 'users/user-invite.types.js', validator: 'UserInviteApiResponseValidator',
    methods: ['users.sendInvitation'], routes: ['POST /users/invite'] },
  { name: 'InvitationList', module: 'users/user-invitation-sent-list.types.js',
    validator: 'UserInvitationSentListApiResponseValidator',
    methods: ['users.getAllInvitationsSent'], routes: ['GET /users/invite/sent'] },
  { name: 'InvitationCanceled', module: 'users/user-invitation-cancel.types.js',
    validator: 'CancelUserInvitationApiResponseValidator',
    methods: ['users.cancelInvitationSent'], routes: ['DELETE /users/invite/sent/{invitation_id}'] },
  // posts, comments, reactions
  { name: 'PostList', module: 'users/user-post-list.types.js', validator: 'UserPostListApiResponseValidator',
    methods: ['users.getAllPosts'], routes: ['GET /users/{identifier}/posts'] },
  { name: 'Post', module: 'users/post.types.js', validator: 'UserPostApiResponseValidator',
    methods: ['users.getPost'], routes: ['GET /posts/{post_id}'] },
  { name: 'PostCreated', module: 'posts/post-create.types.js', validator: 'CreatePostResponseValidator',
    methods: ['users.createPost'], routes: ['POST /posts'] },
  { name: 'CommentList', module: 'posts/comment-list.types.js', validator: 'PostCommentListApiResponseValidator',
    methods: ['users.getAllPostComments'], routes: ['GET /posts/{post_id}/comments'] },
  { name: 'CommentSent', module: 'posts/comment-send.types.js', validator: 'CommentPostResponseValidator',
    methods: ['users.sendPostComment'], routes: ['POST /posts/{post_id}/comments'] },
  { name: 'ReactionAdded', module: 'users/reaction-add.types.js', validator: 'AddPostReactionResponseValidator',
    methods: ['users.sendPostReaction'], routes: ['POST /posts/reaction'] },
  // chats, messages, attendees
  { name: 'ChatList', module: 'messaging/chats/chats-list.types.js', validator: 'ChatListApiResponseValidator',
    methods: ['messaging.getAllChats', 'messaging.getAllChatsFromAttendee'],
    routes: ['GET /chats', 'GET /chat_attendees/{attendee_id}/chats'] },
  { name: 'Chat', module: 'messaging/chats/chat.types.js', validator: 'ChatResponseValidator',
    methods: ['messaging.getChat'], routes: ['GET /chats/{chat_id}'] },
  { name: 'ChatStarted', module: 'messaging/chats/chat-start.types.js', validator: 'ChatStartedApiResponseValidator',
    methods: ['messaging.startNewChat'], routes: ['POST /chats'] },
  { name: 'ChatPatched', module: 'messaging/chats/chat-patch.types.js', validator: 'ChatPatchedApiResponseValidator',
    methods: ['messaging.setChatStatus'], routes: ['PATCH /chats/{chat_id}'] },
  { name: 'MessageList', module: 'messaging/messages/message-list.types.js',
    validator: 'MessageListApiResponseValidator',
    methods: ['messaging.getAllMessagesFromChat', 'messaging.getAllMessages', 'messaging.getAllMessagesFromAttendee'],
    routes: ['GET /chats/{chat_id}/messages', 'GET /messages', 'GET /chat_attendees/{attendee_id}/messages'] },
  { name: 'Message', module: 'messaging/messages/message.types.js', validator: 'MessageResponseValidator',
    methods: ['messaging.getMessage'], routes: ['GET /messages/{message_id}'] },
  { name: 'MessageSent', module: 'messaging/messages/message-send.types.js', validator: 'MessageSentResponseValidator',
    methods: ['messaging.sendMessage'], routes: ['POST /chats/{chat_id}/messages'] },
  { name: 'ChatAttendeeListByChat', module: 'messaging/chat-attendees/chat-attendees-list.types.js',
    validator: 'ChatAttendeeByChatListApiResponseValidator',
    methods: ['messaging.getAllAttendeesFromChat'], routes: ['GET /chats/{chat_id}/attendees'] },
  { name: 'ChatAttendeeList', module: 'messaging/chat-attendees/chat-attendees-list.types.js',
    validator: 'ChatAttendeeListApiResponseValidator',
    methods: ['messaging.getAllAttendees'], routes: ['GET /chat_attendees'] },
  { name: 'ChatAttendee', module: 'messaging/chat-attendees/chat-attendee.types.js',
    validator: 'ChatAttendeeResponseValidator',
    methods: ['messaging.getAttendee'], routes: ['GET /chat_attendees/{attendee_id}'] },
  // webhooks
  { name: 'WebhookList', module: 'webhooks/webhooks-list.types.js', validator: 'WebhookListResponseValidator',
    methods: ['webhook.getAll'], routes: ['GET /webhooks'] },
  { name: 'WebhookCreated', module: 'webhooks/webhooks-create.types.js', validator: 'WebhookCreateResponseValidator',
    methods: ['webhook.create'], routes: ['POST /webhooks'] },
  { name: 'WebhookDeleted', module: 'webhooks/webhooks-delete.types.js', validator: 'WebhookDeleteResponseValidator',
    methods: ['webhook.delete'], routes: ['DELETE /webhooks/{webhook_id}'] },
];

// The SDK validates no error body (a non-2xx response is thrown as UnsuccessfulRequestError with the raw
// body), so the error schema is the contract notes' (spec/unipile-v1.md §3), written here beside the others.
const ERROR_SCHEMA = {
  title: 'UnipileError',
  description: 'Error body of every non-2xx Unipile v1 response (spec/unipile-v1.md §3). Not in the SDK.',
  type: 'object',
  properties: {
    title: { type: 'string' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    type: { type: 'string', pattern: '^errors/[a-z_]+$' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    connectionParams: { type: 'object' },
  },
  required: ['title', 'type', 'status'],
};

// Mirrors isBase64 in the SDK's common/core.types.tmp.js: base64 alphabet, length a multiple of 4, padding
// only at the end.
const BASE64 = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
// The SDK checks UTCDateTimeMs with `new Date(v).toISOString() === v`; this is the pattern it documents.
const UTC_MS = '^[1-2]\\d{3}-[0-1]\\d-[0-3]\\dT\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$';

const STANDARD = new Set([
  'Any', 'Unknown', 'Array', 'Boolean', 'Integer', 'Intersect', 'Literal', 'Never', 'Not', 'Null', 'Number',
  'Object', 'Record', 'Ref', 'String', 'This', 'Tuple', 'Union',
]);

function customKind(kind, node) {
  const doc = node.description ? { description: node.description } : {};
  switch (kind) {
    case 'StringEnum':
      return { ...doc, type: 'string', enum: node.enum };
    case 'NumberEnum':
      return { ...doc, type: 'number', enum: node.enum };
    case 'EncodedQueryCursor':
      return { ...doc, type: 'string', pattern: BASE64, 'x-sdk-kind': kind };
    case 'UTCDateTimeMs':
      return { ...doc, type: 'string', pattern: UTC_MS, 'x-sdk-kind': kind };
    case 'UnixTimeMs':
      return { ...doc, type: 'integer', 'x-sdk-kind': kind };
    case 'HttpUrl':
      return { ...doc, type: 'string', pattern: '^https?://', 'x-sdk-kind': kind };
    default:
      throw new Error(`unknown TypeBox kind ${kind}: add its JSON Schema translation`);
  }
}

const kindsSeen = new Set();

function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const kind = node[Kind];
  if (kind !== undefined) {
    kindsSeen.add(kind);
    if (!STANDARD.has(kind)) return customKind(kind, node);
  }
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'example' || key === 'examples') continue; // documentation, and sometimes not JSON
    out[key] = convert(value);
  }
  // A Union of Literals written as `anyOf` of `const`s reads better (and generates better) as an enum.
  if (Array.isArray(out.anyOf) && out.anyOf.length > 0 && out.anyOf.every(isScalarConst)) {
    const { anyOf, ...rest } = out;
    return { ...rest, enum: anyOf.map((s) => s.const) };
  }
  return out;
}

function isScalarConst(s) {
  return s && typeof s === 'object' && 'const' in s && Object.keys(s).every((k) => ['const', 'type', 'title', 'description'].includes(k));
}

function exportOne(spec) {
  const mod = sdkModule(spec.module);
  const validator = mod[spec.validator];
  if (!validator || typeof validator.Check !== 'function' || !validator.schema) {
    throw new Error(`${spec.module} has no compiled validator ${spec.validator}`);
  }
  const defs = {};
  for (const ref of validator.references || []) {
    if (!ref.$id) throw new Error(`${spec.validator}: a referenced schema has no $id`);
    defs[ref.$id] = convert(ref);
  }
  const body = convert(validator.schema);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://revos.dev/unipile/${SDK}/${sdkVersion}/${spec.name}.json`,
    title: spec.name,
    'x-unipile': {
      sdk: `${SDK}@${sdkVersion}`,
      typebox: typeboxVersion,
      module: `dist/cjs/${spec.module}`,
      validator: spec.validator,
      methods: spec.methods,
      routes: spec.routes,
    },
    ...(Object.keys(defs).length ? { definitions: defs } : {}),
    ...body,
  };
}

function main() {
  fs.mkdirSync(OUT, { recursive: true });
  for (const f of fs.readdirSync(OUT)) if (f.endsWith('.json')) fs.unlinkSync(path.join(OUT, f));
  const manifest = {
    generated_by: 'scripts/unipile-contract/export-schemas.js',
    sdk: SDK,
    sdk_version: sdkVersion,
    typebox_version: typeboxVersion,
    schemas: {},
  };
  for (const spec of RESPONSES) {
    const schema = exportOne(spec);
    fs.writeFileSync(path.join(OUT, `${spec.name}.json`), JSON.stringify(schema, null, 2) + '\n');
    manifest.schemas[spec.name] = { methods: spec.methods, routes: spec.routes, source: 'sdk' };
  }
  fs.writeFileSync(
    path.join(OUT, 'Error.json'),
    JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...ERROR_SCHEMA }, null, 2) + '\n',
  );
  manifest.schemas.Error = { methods: [], routes: ['* (any non-2xx)'], source: 'spec/unipile-v1.md §3' };
  fs.writeFileSync(path.join(OUT, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(
    `${RESPONSES.length} SDK response schemas + Error.json from ${SDK}@${sdkVersion} -> ${path.relative(process.cwd(), OUT)}`,
  );
  console.log(`TypeBox kinds met: ${[...kindsSeen].sort().join(', ')}`);
}

main();
