#!/usr/bin/env node
// Drives Unipile's official SDK against `revos sim serve`, validating every response with the SDK's own
// schemas at level `error`, the way a new user of the simulator would try it:
//
//   revos sim serve --port 8100 --api-key sim-key          # another terminal; demo login demo@revos.dev / demo
//   cd scripts/unipile-contract && npm ci && node sdk-check.js http://127.0.0.1:8100 sim-key
//
// Prints one line per call (ok / FAILED with the SDK's first error) and exits 1 if any call failed.
'use strict';

const { UnipileClient } = require('unipile-node-sdk');

const [, , baseUrl = 'http://127.0.0.1:8100', token = 'sim-key'] = process.argv;
const sdk = new UnipileClient(baseUrl, token, { validateRequestPayload: true, validateRequestPayloadLevel: 'error' });
const results = [];

async function call(name, fn) {
  try {
    const value = await fn();
    results.push({ name, ok: true });
    console.log(`ok      ${name}`);
    return value;
  } catch (err) {
    const first = Array.isArray(err.body) ? err.body[0] : err.body;
    results.push({ name, ok: false });
    console.log(`FAILED  ${name}: ${err.constructor.name} ${JSON.stringify(first ?? err.message).slice(0, 400)}`);
    return undefined;
  }
}

async function main() {
  const accounts = await call('account.getAll', () => sdk.account.getAll());
  let connected = await call('account.connectLinkedin', () =>
    sdk.account.connectLinkedin({ username: 'demo@revos.dev', password: 'demo' }),
  );
  if (connected && connected.object === 'Checkpoint') {
    connected = await call('account.solveCodeCheckpoint', () =>
      sdk.account.solveCodeCheckpoint({ provider: 'LINKEDIN', account_id: connected.account_id, code: '123456' }),
    );
  }
  const accountId = connected ? connected.account_id : accounts && accounts.items[0] && accounts.items[0].id;
  if (!accountId) throw new Error('no account to work with');
  await call('account.getOne', () => sdk.account.getOne(accountId));
  await call('account.resyncLinkedinAccount', () => sdk.account.resyncLinkedinAccount({ account_id: accountId }));
  await call('account.createHostedAuthLink', () =>
    sdk.account.createHostedAuthLink({
      type: 'create',
      providers: ['LINKEDIN'],
      api_url: baseUrl,
      expiresOn: new Date(Date.now() + 3600e3).toISOString(),
      notify_url: 'http://127.0.0.1:9/notify',
      name: 'sdk-check',
    }),
  );
  const me = await call('users.getOwnProfile', () => sdk.users.getOwnProfile(accountId));
  const relations = await call('users.getAllRelations', () => sdk.users.getAllRelations({ account_id: accountId }));
  const friend = relations && relations.items[0];
  if (friend) {
    await call('users.getProfile', () => sdk.users.getProfile({ account_id: accountId, identifier: friend.member_id }));
  }
  const created = await call('users.createPost', () => sdk.users.createPost({ account_id: accountId, text: 'Comment GUIDE' }));
  const posts = me && (await call('users.getAllPosts', () => sdk.users.getAllPosts({ account_id: accountId, identifier: me.provider_id })));
  const postId = (created && created.post_id) || (posts && posts.items[0] && posts.items[0].id);
  const post = postId && (await call('users.getPost', () => sdk.users.getPost({ account_id: accountId, post_id: postId })));
  if (post) {
    await call('users.sendPostComment', () => sdk.users.sendPostComment({ account_id: accountId, post_id: post.social_id, text: 'Thanks!' }));
    await call('users.getAllPostComments', () => sdk.users.getAllPostComments({ account_id: accountId, post_id: post.social_id }));
    await call('users.sendPostReaction', () =>
      sdk.users.sendPostReaction({ account_id: accountId, post_id: post.social_id, reaction_type: 'like' }),
    );
  }
  const chats = await call('messaging.getAllChats', () => sdk.messaging.getAllChats({ account_id: accountId }));
  let chatId = chats && chats.items[0] && chats.items[0].id;
  if (friend) {
    const started = await call('messaging.startNewChat', () =>
      sdk.messaging.startNewChat({ account_id: accountId, attendees_ids: [friend.member_id], text: 'Hello' }),
    );
    chatId = (started && started.chat_id) || chatId;
  }
  if (chatId) {
    await call('messaging.getChat', () => sdk.messaging.getChat(chatId));
    await call('messaging.sendMessage', () => sdk.messaging.sendMessage({ chat_id: chatId, text: 'Still there?' }));
    await call('messaging.getAllMessagesFromChat', () => sdk.messaging.getAllMessagesFromChat({ chat_id: chatId }));
    await call('messaging.getAllAttendeesFromChat', () => sdk.messaging.getAllAttendeesFromChat(chatId));
  }
  const messages = await call('messaging.getAllMessages', () => sdk.messaging.getAllMessages({ account_id: accountId }));
  if (messages && messages.items[0]) {
    await call('messaging.getMessage', () => sdk.messaging.getMessage(messages.items[0].id));
  }
  const attendees = await call('messaging.getAllAttendees', () => sdk.messaging.getAllAttendees({ account_id: accountId }));
  if (attendees && attendees.items[0]) {
    await call('messaging.getAttendee', () => sdk.messaging.getAttendee(attendees.items[0].id));
  }
  await call('users.getAllInvitationsSent', () => sdk.users.getAllInvitationsSent({ account_id: accountId }));
  const hook = await call('webhook.create', () =>
    sdk.webhook.create({ source: 'messaging', request_url: 'http://127.0.0.1:9/hook', name: 'sdk-check' }),
  );
  await call('webhook.getAll', () => sdk.webhook.getAll());
  if (hook) await call('webhook.delete', () => sdk.webhook.delete(hook.webhook_id));

  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
