//! Pub/sub subscriptions and the per-client push channels.
//!
//! A connection normally only speaks when it answers a request. Two things make a node talk to
//! a client on its own: a pub/sub message (published by another client, or arriving over the
//! cluster bus) and the reply that ends a blocking command (BLPOP served by another client's
//! push, or redirected because its slot moved). Both go through one unbounded channel per
//! client, created the first time the client subscribes or blocks: the node keeps the sender,
//! the connection task takes the receiver and selects on it beside its socket read. Clients
//! that never subscribe nor block have no channel and their read loop is unchanged.
//!
//! Deliveries happen under the node lock, so a message reaches every subscriber in the order the
//! node processed the publishes, and a client's own pushes (subscribe confirmations, a message to
//! a channel it publishes on) are queued in the order they happened.

use crate::node::Client;
use crate::resp::Reply;
use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// The bytes queued on one client's push channel and not yet taken by its connection: the
/// part of the client's pending output the node holds (`client-output-buffer-limit pubsub`).
#[derive(Debug, Default)]
pub struct Queued {
    bytes: AtomicU64,
    /// Set when a push was refused because the queue held the hard limit: the connection
    /// closes the client.
    over: AtomicBool,
}

/// The connection's end of a push channel, which keeps [`Queued`] up to date.
#[derive(Debug)]
pub struct PushRx {
    rx: mpsc::UnboundedReceiver<ClientMsg>,
    queued: Arc<Queued>,
}

impl PushRx {
    fn taken(&self, msg: &ClientMsg) {
        self.queued
            .bytes
            .fetch_sub(msg_size(msg).min(self.queued()), Ordering::Relaxed);
    }

    /// The next message (None once the node dropped the sender).
    pub async fn recv(&mut self) -> Option<ClientMsg> {
        let msg = self.rx.recv().await?;
        self.taken(&msg);
        Some(msg)
    }

    /// A message already queued, if any.
    pub fn try_recv(&mut self) -> Option<ClientMsg> {
        let msg = self.rx.try_recv().ok()?;
        self.taken(&msg);
        Some(msg)
    }

    /// Bytes still queued.
    pub fn queued(&self) -> u64 {
        self.queued.bytes.load(Ordering::Relaxed)
    }

    /// Whether the node refused a push because the queue was over the hard limit.
    pub fn over_limit(&self) -> bool {
        self.queued.over.load(Ordering::Relaxed)
    }
}

/// About the bytes a message takes once encoded (the arrays' headers are a few bytes each).
fn reply_size(reply: &Reply) -> u64 {
    match reply {
        Reply::Bulk(b) | Reply::Verbatim(b) | Reply::ErrorBytes(b) => b.len() as u64 + 16,
        Reply::Simple(t) | Reply::Error(t) => t.len() as u64 + 3,
        Reply::Array(items) | Reply::Push(items) | Reply::Set(items) => {
            8 + items.iter().map(reply_size).sum::<u64>()
        }
        Reply::Map(pairs) => {
            8 + pairs
                .iter()
                .map(|(k, v)| reply_size(k) + reply_size(v))
                .sum::<u64>()
        }
        _ => 24,
    }
}

fn msg_size(msg: &ClientMsg) -> u64 {
    match msg {
        ClientMsg::Push(r) => reply_size(r),
        ClientMsg::Unblock { reply, .. } => reply_size(reply),
    }
}

/// The node's end of a client's push channel.
#[derive(Debug)]
struct Sender {
    tx: mpsc::UnboundedSender<ClientMsg>,
    queued: Arc<Queued>,
}

/// What the node sends a connection outside of a request's reply.
#[derive(Debug)]
pub enum ClientMsg {
    /// A push to write as it is (pub/sub message, subscribe confirmation).
    Push(Reply),
    /// The reply that ends the blocking command the client waits in, and the replication
    /// offset after it (for a later WAIT).
    Unblock { reply: Reply, woff: u64 },
}

/// The three subscription tables (channels, patterns, shard channels) share this shape.
#[derive(Debug, Default)]
pub struct Table {
    /// Name -> subscribed client ids, in subscription order.
    by_name: IndexMap<Bytes, IndexSet<u64>>,
    /// Client id -> its names.
    by_client: HashMap<u64, IndexSet<Bytes>>,
}

impl Table {
    /// Subscribes; false when the client already was.
    pub fn subscribe(&mut self, client: u64, name: &Bytes) -> bool {
        let names = self.by_client.entry(client).or_default();
        if !names.insert(name.clone()) {
            return false;
        }
        self.by_name.entry(name.clone()).or_default().insert(client);
        true
    }

    /// Unsubscribes; false when the client was not subscribed.
    pub fn unsubscribe(&mut self, client: u64, name: &[u8]) -> bool {
        let Some(names) = self.by_client.get_mut(&client) else {
            return false;
        };
        if !names.swap_remove(name) {
            return false;
        }
        if names.is_empty() {
            self.by_client.remove(&client);
        }
        if let Some(clients) = self.by_name.get_mut(name) {
            clients.shift_remove(&client);
            if clients.is_empty() {
                self.by_name.swap_remove(name);
            }
        }
        true
    }

    /// The names a client is subscribed to.
    pub fn of_client(&self, client: u64) -> Vec<Bytes> {
        self.by_client
            .get(&client)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many names a client is subscribed to.
    pub fn count(&self, client: u64) -> usize {
        self.by_client.get(&client).map_or(0, |s| s.len())
    }

    /// Subscribers of one name.
    pub fn subscribers(&self, name: &[u8]) -> usize {
        self.by_name.get(name).map_or(0, |s| s.len())
    }

    /// Names with at least one subscriber.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every name and its subscribers.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &IndexSet<u64>)> {
        self.by_name.iter()
    }

    /// Drops every subscription of a client.
    pub fn remove_client(&mut self, client: u64) {
        for name in self.of_client(client) {
            self.unsubscribe(client, &name);
        }
    }
}

/// Subscriptions and push channels of a node.
#[derive(Debug, Default)]
pub struct Hub {
    senders: HashMap<u64, Sender>,
    /// Receivers created under the node lock, waiting for their connection to take them.
    pending_rx: HashMap<u64, PushRx>,
    /// The pubsub class's hard output limit (0: none): pushes beyond it are refused and the
    /// client is closed by its connection. Kept in step with the config by the node.
    pub push_hard_limit: u64,
    pub channels: Table,
    pub patterns: Table,
    pub shard: Table,
}

impl Hub {
    /// Makes sure `client` has a push channel (its connection picks the receiver up after the
    /// command, see [`Hub::take_rx`]).
    pub fn ensure_channel(&mut self, client: &mut Client) {
        if client.push_channel && self.senders.contains_key(&client.id) {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(Queued::default());
        self.senders.insert(
            client.id,
            Sender {
                tx,
                queued: queued.clone(),
            },
        );
        self.pending_rx.insert(client.id, PushRx { rx, queued });
        client.push_channel = true;
    }

    /// The receiver created for a client, once.
    pub fn take_rx(&mut self, id: u64) -> Option<PushRx> {
        self.pending_rx.remove(&id)
    }

    /// Sends a message to a client's connection (dropped when it has no channel or is gone).
    pub fn send(&self, id: u64, msg: ClientMsg) -> bool {
        let Some(sender) = self.senders.get(&id) else {
            return false;
        };
        let size = msg_size(&msg);
        let queued = &sender.queued;
        // The reply that ends a blocking command is always delivered; pub/sub messages stop at
        // the hard limit, so a subscriber that never reads cannot grow the node's memory.
        if matches!(msg, ClientMsg::Push(_))
            && self.push_hard_limit != 0
            && queued.bytes.load(Ordering::Relaxed) + size >= self.push_hard_limit
        {
            if !queued.over.swap(true, Ordering::Relaxed) {
                // The first refusal still goes through the channel: a refused push sends
                // nothing, and a connection idle in its receive would never look at the flag
                // (found under load by limits_compat: the subscriber stayed connected). The
                // connection checks the flag before writing and closes.
                queued.bytes.fetch_add(size, Ordering::Relaxed);
                let _ = sender.tx.send(msg);
            }
            return false;
        }
        queued.bytes.fetch_add(size, Ordering::Relaxed);
        sender.tx.send(msg).is_ok()
    }

    /// Sends a push to a client.
    pub fn push(&self, id: u64, reply: Reply) {
        self.send(id, ClientMsg::Push(reply));
    }

    /// Forgets a client that disconnected.
    pub fn remove_client(&mut self, id: u64) {
        self.senders.remove(&id);
        self.pending_rx.remove(&id);
        self.channels.remove_client(id);
        self.patterns.remove_client(id);
        self.shard.remove_client(id);
    }

    /// Channels + patterns a client is subscribed to (the count SUBSCRIBE / PSUBSCRIBE replies
    /// carry).
    pub fn subscriptions(&self, id: u64) -> usize {
        self.channels.count(id) + self.patterns.count(id)
    }

    /// Delivers a PUBLISH to local subscribers of the channel and of matching patterns; returns
    /// how many deliveries were made (a client subscribed both ways counts twice, as in Redis).
    pub fn publish(&self, channel: &Bytes, message: &Bytes) -> usize {
        let mut n = 0;
        if let Some(clients) = self.channels.by_name.get(channel.as_ref()) {
            for &id in clients {
                self.push(
                    id,
                    Reply::Push(vec![
                        Reply::bulk("message"),
                        Reply::Bulk(channel.clone()),
                        Reply::Bulk(message.clone()),
                    ]),
                );
                n += 1;
            }
        }
        for (pattern, clients) in self.patterns.iter() {
            if !crate::glob::matches(pattern, channel, false) {
                continue;
            }
            for &id in clients {
                self.push(
                    id,
                    Reply::Push(vec![
                        Reply::bulk("pmessage"),
                        Reply::Bulk(pattern.clone()),
                        Reply::Bulk(channel.clone()),
                        Reply::Bulk(message.clone()),
                    ]),
                );
                n += 1;
            }
        }
        n
    }

    /// Delivers an SPUBLISH to local subscribers of the shard channel.
    pub fn publish_shard(&self, channel: &Bytes, message: &Bytes) -> usize {
        let mut n = 0;
        if let Some(clients) = self.shard.by_name.get(channel.as_ref()) {
            for &id in clients {
                self.push(
                    id,
                    Reply::Push(vec![
                        Reply::bulk("smessage"),
                        Reply::Bulk(channel.clone()),
                        Reply::Bulk(message.clone()),
                    ]),
                );
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_subscribe_unsubscribe() {
        let mut t = Table::default();
        let a = Bytes::from_static(b"a");
        assert!(t.subscribe(1, &a));
        assert!(!t.subscribe(1, &a));
        assert!(t.subscribe(2, &a));
        assert_eq!(t.subscribers(b"a"), 2);
        assert_eq!(t.count(1), 1);
        assert!(t.unsubscribe(1, b"a"));
        assert!(!t.unsubscribe(1, b"a"));
        assert_eq!(t.subscribers(b"a"), 1);
        t.remove_client(2);
        assert!(t.is_empty());
    }
}
