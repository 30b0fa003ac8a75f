/*
 * rotation.pml: an executable model of Proton's address-rotation protocol, checked
 * exhaustively with Spin (Tests/Model/check). It is the exhaustive counterpart of the randomised
 * Swift test Tests/ProtonCoreTests/RotationModelTests.swift.
 *
 * What it mirrors (Sources/ProtonCore/Relationship/):
 *   - Proton.issue                  -> inline issue
 *   - Proton.seal                   -> inline seal   (payload: acknowledged + all pending updates)
 *   - Proton.open / openUnchecked   -> inline open
 *   - SendAgent.flush / deliver     -> the delivery guard: a message (a stored outbox item) goes
 *                                      to the sender's routes, current ones first, and fails
 *                                      over on "gone" until one accepts it
 *   - Proton.applyAcknowledgement   -> inline applyAck
 *   - Proton.applyUpdates           -> inline applyUpdates
 *   - Proton.enqueue                -> inline enqueue
 *   - Proton.boundOwnRoutes         -> inline bound, inline trimPeer (peer-route cap)
 *   - Proton.completeRetirements    -> inline graceEnd (the grace period running out, then the
 *                                      agents' retirement round)
 *   - OwnRoute.acceptsMessages      -> macro ACC
 *   - Proton.initiate / respond / introduce (Proton+Start.swift) -> the initial state in init
 *   - Proton(serializedState:)      -> inline restart (the loader re-bounds the state)
 *
 * Abstractions (see Tests/Model/README.md):
 *   - Addresses are route slots 0..NR-1 per side, issued in order, so "issuedAt" order is the
 *     slot order, and a peer's route list (newest first) is a bitmask: the peer inserts each new
 *     route at the front, and a newer route always has a higher slot (asserted when applied).
 *   - Which route a message finally arrives at is not recorded: the send agent retries a stored
 *     message over the sender's current routes (then those it was sealed with), failing over on
 *     "gone", so a message can be opened whenever the sender knows a route the receiver accepts
 *     (the delivery guard REACH(sender), which property 1 asserts always holds), and what the
 *     receiver does with it does not depend on which accepted route it came in at. A message
 *     that arrives at a route retired meanwhile is refused: that is a loss, which the network
 *     does anyway.
 *   - Time is not modelled: a retiring route's grace period ends by a nondeterministic event.
 *     "Retiring, grace over", "retiring since graceEndedEarly" and "retired" all refuse messages
 *     and are one state here (RETIRED); dropping retired routes from the list is not modelled
 *     (an unknown and a retired address are refused alike).
 *   - An update's sequence numbers are absolute (no wrap-around): the number of rotations per
 *     side is bounded (ROTA, ROTB), which bounds every counter.
 *   - The pending updates of a side are exactly its updates with sequence > the highest
 *     acknowledgement it accepted (Proton removes pending updates with sequence <= each valid
 *     acknowledgement, and enqueues with increasing sequence), so a message carries
 *     (acknowledged, lo, hi) and the receiver reads update contents from the sender's log,
 *     which never changes once written.
 *   - The ratchet is not modelled. A duplicate is opened again instead of being refused as
 *     duplicateMessage: that only adds behaviour (acknowledgements and updates are idempotent).
 *   - The body, display names' contents, blocking and the message-order hold-back are left out.
 */

/* ---- parameters (override with spin -D...) ----
 * MUT_EARLY_RETIRE, MUT_OLDEST_ACTIVE, MUT_REAPPLY, MUT_ACK_OFF_BY_ONE select deliberately broken
 * variants, which the check script runs to show that each property can fail (never define them
 * otherwise). */
#ifndef ROTA
#define ROTA 3         /* rotations (issue calls) of A after the handshake: A's routes are a0 + ROTA */
#endif
#ifndef ROTB
#define ROTB 2         /* rotations of B after the handshake: B's routes are b0, b1 + ROTB */
#endif
#define ROUTES(x) ((x) == IA -> 1 + ROTA : 2 + ROTB)
#ifndef CAP
#define CAP 2          /* messages in flight per direction */
#endif
#ifndef MAXPEER
#define MAXPEER 8      /* Proton.maximumPeerRoutes */
#endif
#ifndef MAXLIVE
#define MAXLIVE 12     /* Proton.maximumLiveOwnRoutes */
#endif
#define MAXPENDING 16  /* Proton.maximumPendingUpdates */

#define NR 5           /* route slots per side (so ROTA, ROTB <= 3) */
#define NU 9           /* update log per side: 1 displayName + <= 4 addRoute + <= 4 retireAddress */
#define NONE 255

/* OwnRoute.State */
#define UNISSUED 0
#define OFFERED  1     /* .offered(sequence:) */
#define ACTIVE   2     /* .active */
#define RETIRING 3     /* .retiring(since:), still within the grace period */
#define RETIRED  4     /* grace over (or ended early by boundOwnRoutes), or .retired */

/* ProtonUpdate.Change */
#define NAME 1         /* .displayName */
#define ADD  2         /* .addRoute */
#define RET  3         /* .retireAddress */

#define IA 0           /* side A: the initiator */
#define IB 1           /* side B: the responder */

typedef Side {
  byte st[NR];         /* ownRoutes[i].state */
  byte offer[NR];      /* .offered(sequence:): the sequence of its addRoute (0 once acknowledged) */
  byte issued;         /* route slots used */
  byte log[NU+1];      /* log[q]: the update with sequence q: kind*8 + route slot */
  byte nextSeq;        /* nextUpdateSequence */
  byte acked;          /* highest valid acknowledgement accepted; pendingUpdates = (acked, next) */
  byte peer;           /* peerRoutes: bit r set = the peer's route slot r is known */
  byte applied;        /* peerUpdatesApplied: our acknowledgement */
};
Side s[2];

/* The network: per direction d (d = sender), a multiset of at most CAP messages, kept sorted
 * (descending, empty = 0 last) so that the order of arrival does not multiply the states.
 * A message is 1 + acknowledged + 16*(lo + 16*hi): the payload's acknowledgement and its
 * updates, those with sequence lo..hi in the sender's log. */
short net[2*CAP];

/* Ghost state for property 3: bit q set = update q of the peer applied here. */
short appliedSet[2];

#ifdef LIVE
bit freshTo[2];        /* event flags: x just opened a message carrying its peer's current state */
#endif

/* temporaries of the atomic steps (not part of the state) */
hidden byte sv1, sv2, sv3, pd, pi, k, q, r, u, ack, lo, hi, valid, newest, nseq, live, nknown;
hidden short m, tmp;

#define ACC(y,i)   (s[y].st[i] == OFFERED || s[y].st[i] == ACTIVE || s[y].st[i] == RETIRING)
#define KNOWS(x,i) (((s[x].peer >> (i)) & 1) == 1)
#define PEER(x)    (1 - (x))
/* Property 1: x has a route to its peer that the peer accepts messages at. */
#define REACH(x) ((KNOWS(x,0) && ACC(PEER(x),0)) || (KNOWS(x,1) && ACC(PEER(x),1)) || \
                  (KNOWS(x,2) && ACC(PEER(x),2)) || (KNOWS(x,3) && ACC(PEER(x),3)) || \
                  (KNOWS(x,4) && ACC(PEER(x),4)))
#define NOOFFER(y) (s[y].st[0] != OFFERED && s[y].st[1] != OFFERED && s[y].st[2] != OFFERED && \
                    s[y].st[3] != OFFERED && s[y].st[4] != OFFERED)
#define PENDING(x) (s[x].nextSeq - 1 - s[x].acked)

#ifdef LIVE
#define BEGIN freshTo[0] = 0; freshTo[1] = 0
#else
#define BEGIN skip
#endif

/* Proton.enqueue */
inline enqueue(x, kind, slot) {
  assert(s[x].nextSeq <= NU);
  s[x].log[s[x].nextSeq] = kind * 8 + slot;
  s[x].nextSeq++
}

/* Proton.boundOwnRoutes: while more than MAXLIVE routes accept messages, the oldest retiring
 * one ends its grace period at once. (The maximumOwnRoutes / hardOwnRouteLimit removals only
 * drop routes that already refuse messages: not modelled.) */
inline bound(x) {
  live = 0;
  for (k : 0 .. NR-1) {
    if
    :: ACC(x, k) -> live++
    :: else
    fi
  }
  k = 0;
  do
  :: live > MAXLIVE && k < NR ->
     if
     :: s[x].st[k] == RETIRING ->
        s[x].st[k] = RETIRED; live--;
        /* property 2: ending a grace period early never cuts the peer off */
        assert(REACH(PEER(x)))
     :: else
     fi;
     k++
  :: else -> break
  od;
  skip                                 /* (a d_step may not end in a loop's break) */
}

/* The cap in Proton.applyUpdates (and the loader): keep the MAXPEER newest peer routes. */
inline trimPeer(x) {
  nknown = 0;
  for (k : 0 .. NR-1) {
    if
    :: KNOWS(x, k) -> nknown++
    :: else
    fi
  }
  k = 0;
  do
  :: nknown > MAXPEER && k < NR ->
     if
     :: KNOWS(x, k) -> s[x].peer = s[x].peer & (255 - (1 << k)); nknown--
     :: else
     fi;
     k++
  :: else -> break
  od;
  skip
}

/* Proton.issue: a fresh route, offered with an addRoute update. Any number of offers may be
 * pending, as with `proton rotate` (the send agent's rotationDue is stricter: a subset). */
inline issue(x) {
  r = s[x].issued;
  s[x].issued++;
  s[x].offer[r] = s[x].nextSeq;
  s[x].st[r] = OFFERED;
  enqueue(x, ADD, r);
#ifdef MUT_EARLY_RETIRE
  /* BROKEN on purpose: the replaced routes start retiring when the new one is offered */
  for (k : 0 .. NR-1) {
    if
    :: s[x].st[k] == ACTIVE -> s[x].st[k] = RETIRING
    :: else
    fi
  }
#endif
  bound(x)
}

/* Proton.seal: (acknowledged: peerUpdatesApplied, updates: pendingUpdates), put in flight */
inline seal(x) {
  m = 1 + s[x].applied + 16 * (s[x].acked + 1 + 16 * (s[x].nextSeq - 1));
  /* canonical insert into the sorted multiset of direction x (its last slot is free) */
  k = (x) * CAP + CAP - 1;
  net[k] = m;
  do
  :: k > (x) * CAP && net[k-1] < net[k] -> tmp = net[k-1]; net[k-1] = net[k]; net[k] = tmp; k--
  :: else -> break
  od;
  m = 0
}

/* remove message i of direction d */
inline take(d, i) {
  k = (d) * CAP + (i);
  do
  :: k < (d) * CAP + CAP - 1 -> net[k] = net[k+1]; k++
  :: else -> break
  od;
  net[(d) * CAP + CAP - 1] = 0
}

/* Proton.applyAcknowledgement */
inline applyAck(x, a) {
  assert(a <= s[x].nextSeq - 1);          /* never above what was sent (Swift clips it anyway) */
  valid = a;
  if
  :: valid > s[x].nextSeq - 1 -> valid = s[x].nextSeq - 1
  :: else
  fi;
  if                                   /* pendingUpdates.removeAll { $0.sequence <= valid } */
  :: valid > s[x].acked -> s[x].acked = valid
  :: else
  fi;
  newest = NONE; nseq = 0;
  for (k : 0 .. NR-1) {
    if
#ifndef MUT_ACK_OFF_BY_ONE
    :: s[x].st[k] == OFFERED && s[x].offer[k] <= valid ->
#else
    :: s[x].st[k] == OFFERED && s[x].offer[k] < valid ->   /* BROKEN on purpose */
#endif
       s[x].st[k] = ACTIVE;
       if
#ifndef MUT_OLDEST_ACTIVE
       :: s[x].offer[k] > nseq -> nseq = s[x].offer[k]; newest = k
#else
       :: newest == NONE -> nseq = s[x].offer[k]; newest = k   /* BROKEN on purpose: the oldest */
#endif
       :: else
       fi;
       s[x].offer[k] = 0               /* only an offered route has a sequence */
    :: else
    fi
  }
  if
  :: newest != NONE ->
     for (k : 0 .. NR-1) {
       if
       :: s[x].st[k] == ACTIVE && k != newest ->
          /* property 2: a route starts retiring only once the peer acknowledged a newer one */
          assert(newest > k);
          assert(s[PEER(x)].applied >= nseq);
          s[x].st[k] = RETIRING;
          if
          :: PENDING(x) < MAXPENDING -> enqueue(x, RET, k)
          :: else
          fi
       :: else
       fi
     }
     bound(x)
  :: else
  fi
}

/* Proton.applyUpdates: the peer's updates lo..hi (in sequence order), read from its log */
inline applyUpdates(x, l, h) {
  q = l;
  do
  :: q > h -> break
#ifndef MUT_REAPPLY
  :: q <= h && q <= s[x].applied -> q++                 /* a repeat: skipped */
#endif
  :: q <= h && q > s[x].applied + 1 -> break            /* a gap: stop until it is filled */
#ifndef MUT_REAPPLY
  :: q <= h && q == s[x].applied + 1 ->
#else
  :: q <= h && q <= s[x].applied + 1 ->                 /* BROKEN on purpose: repeats applied again */
#endif
     /* property 3: applied in sequence order, each exactly once */
     assert(appliedSet[x] == (1 << q) - 2);
     appliedSet[x] = appliedSet[x] | (1 << q);
     u = s[PEER(x)].log[q];
     r = u % 8;
     if
     :: u / 8 == ADD ->
        /* the new route goes first: it is newer than every route known (the bitmask encoding) */
        assert((s[x].peer >> r) == 0);
        s[x].peer = s[x].peer | (1 << r);
        trimPeer(x)
     :: u / 8 == RET -> s[x].peer = s[x].peer & (255 - (1 << r))
     :: u / 8 == NAME -> skip
     :: else -> assert(false)
     fi;
     s[x].applied = q;
     q++
  od;
  skip
}

/* the fields of message mm */
inline decode(mm) {
  tmp = mm - 1;
  ack = tmp % 16; tmp = tmp / 16;
  lo = tmp % 16;
  hi = tmp / 16;
  tmp = 0
}

/* Proton.open: message mm arrives for x at one of its routes that accepts messages (the
 * delivery guard checked that there is one) */
inline open(x, mm) {
  decode(mm);
#ifdef LIVE
  if
  :: ack == s[PEER(x)].applied && hi == s[PEER(x)].nextSeq - 1 -> freshTo[x] = 1
  :: else
  fi;
#endif
  /* the sender repeats everything the receiver has not acknowledged, so the updates a message
   * carries never start past a gap (applyUpdates' "gap" branch is never taken) */
  assert(lo <= s[x].applied + 1);
  applyAck(x, ack);
  applyUpdates(x, lo, hi)
}

/* The grace period of retiring route i runs out; the agents' round (completeRetirements)
 * then marks it retired, and boundOwnRoutes has nothing more to do. */
inline graceEnd(x, i) {
  s[x].st[i] = RETIRED;
  /* property 2: no address retires while the peer needs it as its only route */
  assert(REACH(PEER(x)));
  bound(x)
}

/* A restart reloads the stored state: Proton(serializedState:) caps the peer routes and calls
 * boundOwnRoutes. Every transition already left the state bounded, so this must change
 * nothing (checked); the outbox (the network) is stored too and survives. */
inline restart(x) {
  sv1 = s[x].peer; sv2 = s[x].st[0] + 5 * (s[x].st[1] + 5 * s[x].st[2]);
  sv3 = s[x].st[3] + 5 * s[x].st[4];
  bound(x); trimPeer(x);
  assert(sv1 == s[x].peer && sv2 == s[x].st[0] + 5 * (s[x].st[1] + 5 * s[x].st[2]) &&
         sv3 == s[x].st[3] + 5 * s[x].st[4])
}

/* Canonical network (a state-space reduction, sound for every property checked here): a message
 * in flight that can only be ignored (its acknowledgement is no higher than the receiver's
 * highest one so far, and the receiver applied all its updates already; both only grow) changes
 * nothing whenever it arrives, so it is removed at once. Sending it is then the same as losing
 * it, which the network may do anyway. Compile with -DNOPURGE to keep such messages (the check
 * script does, on a smaller configuration, as a cross-check). */
inline purge() {
#ifndef NOPURGE
  for (pd : 0 .. 1) {
    pi = CAP;
    do
    :: pi > 0 ->
       pi--;
       if
       :: net[pd * CAP + pi] != 0 ->
          decode(net[pd * CAP + pi]);
          if
          :: ack <= s[1 - pd].acked && hi <= s[1 - pd].applied -> take(pd, pi)
          :: else
          fi
       :: else
       fi
    :: else -> break
    od
  }
#endif
  skip
}

#define FREE(d)   (net[(d) * CAP + CAP - 1] == 0)
#define HAS(d,i)  ((i) < CAP && net[(d) * CAP + (i)] != 0)

/* One side: A (me = 0) or B (me = 1). Each action is one atomic step. */
proctype Proton(byte me; byte other) {   /* other = the peer */
  do
  /* seal a message (Proton.seal; the send agent stores it in the outbox and delivers it) */
  :: d_step { FREE(me) -> BEGIN; seal(me); purge() }
  /* receive any message in flight (reordering), either taking it off the network or leaving a
   * copy there to arrive again (duplication); it is delivered at a route of ours that accepts
   * messages, if the sender knows one (SendAgent.deliver fails over on "gone") */
  :: d_step { HAS(other, 0) && REACH(other) -> BEGIN; m = net[other * CAP + 0]; take(other, 0); open(me, m); m = 0; purge() }
  :: d_step { HAS(other, 0) && REACH(other) -> BEGIN; m = net[other * CAP + 0]; open(me, m); m = 0; purge() }
  :: d_step { HAS(other, 1) && REACH(other) -> BEGIN; m = net[other * CAP + 1]; take(other, 1); open(me, m); m = 0; purge() }
  :: d_step { HAS(other, 1) && REACH(other) -> BEGIN; m = net[other * CAP + 1]; open(me, m); m = 0; purge() }
#if CAP > 2
  :: d_step { HAS(other, 2) && REACH(other) -> BEGIN; m = net[other * CAP + 2]; take(other, 2); open(me, m); m = 0; purge() }
  :: d_step { HAS(other, 2) && REACH(other) -> BEGIN; m = net[other * CAP + 2]; open(me, m); m = 0; purge() }
#endif
  /* rotate (proton rotate, or the send agent when rotationDue) */
  :: d_step { s[me].issued < ROUTES(me) && PENDING(me) < MAXPENDING -> BEGIN; issue(me); purge() }
  /* a retiring route's grace period ends */
  :: d_step { s[me].st[0] == RETIRING -> BEGIN; graceEnd(me, 0); purge() }
  :: d_step { s[me].st[1] == RETIRING -> BEGIN; graceEnd(me, 1); purge() }
  :: d_step { s[me].st[2] == RETIRING -> BEGIN; graceEnd(me, 2); purge() }
  :: d_step { s[me].st[3] == RETIRING -> BEGIN; graceEnd(me, 3); purge() }
  :: d_step { s[me].st[4] == RETIRING -> BEGIN; graceEnd(me, 4); purge() }
#ifndef NORESTARTS
  /* restart from the stored state */
  :: d_step { BEGIN; restart(me); purge() }
#endif
  od
}

/* The network loses any message in flight. */
proctype Network() {
  do
  :: d_step { HAS(0, 0) -> BEGIN; take(0, 0); purge() }
  :: d_step { HAS(0, 1) -> BEGIN; take(0, 1); purge() }
  :: d_step { HAS(1, 0) -> BEGIN; take(1, 0); purge() }
  :: d_step { HAS(1, 1) -> BEGIN; take(1, 1); purge() }
#if CAP > 2
  :: d_step { HAS(0, 2) -> BEGIN; take(0, 2); purge() }
  :: d_step { HAS(1, 2) -> BEGIN; take(1, 2); purge() }
#endif
  od
}

/* Property 1, in every reachable state: each side has a live route to the other. */
proctype Monitor() {
  atomic { !(REACH(IA) && REACH(IB)) -> assert(REACH(IA) && REACH(IB)) }
}

/* The state right after the handshake (Proton+Start.swift), the initiator's first message
 * opened by the responder:
 *   A (initiate): peerRoutes = [b0] (the invite's route); introduce: displayName = update 1,
 *     addRoute(a0) = update 2, a0 offered(2).
 *   B (respond): opened A's message: peerRoutes = [a0], peerUpdatesApplied = 2; b0 (first
 *     contact) active; introduce: displayName = update 1, addRoute(b1) = update 2, b1 offered(2).
 * The symmetric "established" state (one active route each, known to the peer, nothing pending)
 * is reachable from here. */
init {
  atomic {
    s[IA].st[0] = OFFERED; s[IA].offer[0] = 2; s[IA].issued = 1;
    s[IA].log[1] = NAME * 8; s[IA].log[2] = ADD * 8 + 0; s[IA].nextSeq = 3; s[IA].acked = 0;
    s[IA].peer = 1;        /* b0 */
    s[IA].applied = 0;

    s[IB].st[0] = ACTIVE; s[IB].st[1] = OFFERED; s[IB].offer[1] = 2; s[IB].issued = 2;
    s[IB].log[1] = NAME * 8; s[IB].log[2] = ADD * 8 + 1; s[IB].nextSeq = 3; s[IB].acked = 0;
    s[IB].peer = 1;        /* a0 */
    s[IB].applied = 2; appliedSet[IB] = 6;

    run Monitor();
    run Proton(IA, IB);
    run Proton(IB, IA);
    run Network()
  }
}

#ifdef LIVE
/* Property 4 (liveness), under a fairness assumption on the network: if each side infinitely
 * often either opens a message that carries its peer's current state (acknowledgement and every
 * pending update) or already knows all of it, then eventually no route stays offered: every
 * offer is acknowledged and becomes active. ("Already knows" is needed because such messages
 * are removed from the network by purge, and also because a side with nothing new to say must
 * not make the assumption false.) */
#define upToDate(x) (s[PEER(x)].applied <= s[x].acked && s[PEER(x)].nextSeq - 1 <= s[x].applied)
#define fairA (freshTo[IA] == 1 || upToDate(IA))
#define fairB (freshTo[IB] == 1 || upToDate(IB))
#define quiet (NOOFFER(IA) && NOOFFER(IB))
ltl offersBecomeActive { ([]<> fairA && []<> fairB) -> <>[] quiet }
#endif
