using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;
using static Autoscale.Backtesting.Cluster.NodeState;
using static Autoscale.Backtesting.Cluster.ReplicaState;

namespace Autoscale.Backtesting.Cluster;

/// <summary>Cluster: the events due at a tick (nodes ready, preempted, scaled down; loads done; crashes) processed in order.</summary>
internal sealed partial class ClusterSimulation
{
    /// <summary>
    /// The events due at <paramref name="tick"/>, by kind in this order, each kind in the order it was scheduled (one no
    /// longer true is skipped): nodes gone, nodes ready, reclaim notices, crashes, loads done; then replicas without a
    /// node try again, and empty nodes past their scale-down delay go.
    /// </summary>
    private void ProcessDue(long tick)
    {
        _due.Clear();
        while (_events.TryPeek(out var e, out var when) && when.Tick <= tick)
        {
            _events.Dequeue();
            _due.Add(e);
        }

        foreach (var e in _due)
        {
            if (e.Kind == EventKind.NodeGone && Current(e) is { State: Noticed } node && node.GoneAt <= tick)
            {
                RemoveNode(node, tick);
            }
        }

        foreach (var e in _due)
        {
            if (e.Kind == EventKind.NodeReady && Current(e) is { State: Provisioning } node && node.ReadyTick <= tick)
            {
                NodeReady(node, tick);
            }
        }

        foreach (var e in _due)
        {
            if (e.Kind == EventKind.Reclaim && Current(e) is { State: Ready } node && node.PreemptAt <= tick)
            {
                Reclaim(node, tick);
            }
        }

        foreach (var e in _due)
        {
            if (e.Kind == EventKind.Crash && Current(e.Replica!, e.Generation) is { State: Up } r && r.CrashAt <= tick)
            {
                Crash(r, tick);
            }
        }

        LoadsDone(tick);
        RetryHomeless(tick);

        foreach (var e in _due)
        {
            if (e.Kind == EventKind.ScaleDown && Current(e) is { State: Ready, Replicas: 0 } node && Removable(node)
                && node.EmptySince + _pools[node.Pool].ScaleDownTicks <= tick)
            {
                RemoveNode(node, tick);
            }
        }
    }

    /// <summary>A node that finished provisioning takes its pending replicas' loads.</summary>
    private void NodeReady(Node node, long tick)
    {
        _roomChanged = true;
        node.State = Ready;
        DrawPreemption(node, tick);
        foreach (var r in node.Members)
        {
            if (r.State == Pending)
            {
                _provisionWaits.Add(tick - r.RequestTick, 1);
                if (StartLoad(r, tick, initial: false))
                {
                    _completed++;
                }
            }
        }
    }

    /// <summary>A reclaim notice: the node's replicas stop at once (they take no new requests), loads on it are lost, and the node goes at the notice's end.</summary>
    private void Reclaim(Node node, long tick)
    {
        _preemptions++;
        _pools[node.Pool].Preemptions++;
        if (node.Replicas == 0 && !node.Committed)
        {
            _pools[node.Pool].IdleNodes--;
        }

        node.State = Noticed;
        _withRoom.Remove(node);
        node.GoneAt = tick + _pools[node.Pool].NoticeTicks;
        At(node.GoneAt, EventKind.NodeGone, node);
        for (var k = node.Members.Count - 1; k >= 0; k--)
        {
            var r = node.Members[k];
            _preemptedReplicas++;
            if (r.State == Up)
            {
                _lost++;
                _lossDeadlines.Add(node.GoneAt);
            }

            RemoveReplica(r.Index, tick);
        }
    }

    /// <summary>A crash: the ready replica reloads on its node, its load drawn from an ordinal of its own.</summary>
    private void Crash(Replica r, long tick)
    {
        _crashes++;
        _lost++;
        _lossDeadlines.Add(tick);
        _pending++;
        LetGo(r.Node!, tick);
        r.Ordinal = ReloadOrdinalBase + _reloads++;
        r.CrashAt = long.MaxValue;
        if (StartLoad(r, tick, initial: false))
        {
            _completed++;
        }
    }

    /// <summary>The loads that are done (the phased model's own queue, or the load-done events) make their replicas ready.</summary>
    private void LoadsDone(long tick)
    {
        if (_phased is not null)
        {
            _doneHandles.Clear();
            if (_phased.Loading > 0)
            {
                _phased.CompleteDue(tick, _doneHandles);
            }

            foreach (var r in _replicas)
            {
                if (r.State == Loading && _doneHandles.Contains(r.Id))
                {
                    _loading--;
                    MakeUp(r, tick, counted: true);
                }
            }

            return;
        }

        foreach (var e in _due)
        {
            if (e.Kind == EventKind.LoadDone && Current(e.Replica!, e.Generation) is { State: Loading } r && r.ReadyTick <= tick)
            {
                _loading--;
                MakeUp(r, tick, counted: true);
            }
        }
    }

    /// <summary>
    /// Replicas without a node try again, in the order they asked, until one finds none (the rest would not either: they
    /// need the same GPUs from the same pools).
    /// </summary>
    private void RetryHomeless(long tick)
    {
        _roomChanged = false;
        var placed = 0;
        while (placed < _homeless.Count)
        {
            var r = _homeless[placed];
            if (Place(r, tick, initial: false))
            {
                _completed++;
            }

            if (r.Node is null)
            {
                break;
            }

            Hold(r);
            placed++;
        }

        _homeless.RemoveRange(0, placed);
    }

    /// <summary>The node an event is about, while it is still the one the event was scheduled for.</summary>
    private static Node? Current(in Event e) => e.Node is { Alive: true } node && node.Generation == e.Generation ? node : null;

    private static Replica? Current(Replica r, long generation) => r.Alive && r.Generation == generation ? r : null;

    private void At(long tick, EventKind kind, Node node) => _events.Enqueue(new Event(kind, node, null, node.Generation), (tick, _eventSeq++));

    private void At(long tick, EventKind kind, Replica r) => _events.Enqueue(new Event(kind, null, r, r.Generation), (tick, _eventSeq++));

    private enum EventKind
    {
        NodeGone,
        NodeReady,
        Reclaim,
        Crash,
        LoadDone,
        ScaleDown,
    }

    /// <summary>A timed event: a node's or a replica's, as it was when scheduled (its generation).</summary>
    private readonly record struct Event(EventKind Kind, Node? Node, Replica? Replica, long Generation);
}
