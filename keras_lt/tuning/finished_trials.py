"""A search killed next to a trial's start or end resumes as the trial stood.

Two windows: a trial that had ended (its own file says COMPLETED) is not run
again, and a trial that had just started (its file says RUNNING, which
`oracle.json` does not know yet) is run.

KerasTuner's `Oracle.end_trial` writes the trial's `trial.json` (status
COMPLETED, its score) and then `oracle.json`. A search killed between the
two resumes from an `oracle.json` that still lists the trial as ongoing, and
`reload` queues it for a retry: it is trained again, a whole trial lost (and
its files rewritten) for a kill that came after it had ended.
`settle_finished_trials` reads the trials' own files, which `reload` has
loaded, and ends such trials as they had ended before the kill. It reads
KerasTuner's `_retry_queue` (keras-tuner 1.4).

`Oracle.create_trial` writes a new trial's `trial.json` (RUNNING) and then
`oracle.json`. A search killed between the two reloads the trial from its
file but not as ongoing, so `reload` does not queue it, and the trial counts
toward `max_trials`: the search ends without running it, the trial left
RUNNING. `queue_started_trials` queues such trials for the retry.
"""

COMPLETED = "COMPLETED"
RUNNING = "RUNNING"


def settle_finished_trials(oracle):
    """Ends the trials that a reloaded `oracle` would train again although
    their files record them as COMPLETED with a score: `reload` puts the
    trials `oracle.json` lists as ongoing in its retry queue. They leave the
    queue for `oracle.end_order`, and the oracle is saved when one moved.
    Returns the ids moved. An `OracleClient` (a distributed worker) has no
    queue and is left alone: its chief's oracle settles them.
    """
    queue = getattr(oracle, "_retry_queue", None)
    if not isinstance(queue, list):
        return []
    settled = [trial_id for trial_id in queue
               if oracle.trials[trial_id].status == COMPLETED
               and oracle.trials[trial_id].score is not None]
    for trial_id in settled:
        queue.remove(trial_id)
        if trial_id not in oracle.end_order:
            oracle.end_order.append(trial_id)
    if settled:
        oracle.save()
    return settled


def queue_started_trials(oracle):
    """Queues for a retry the trials of a reloaded `oracle` whose files say
    RUNNING but which it neither runs, queues nor has ended (`oracle.json`
    was not written after their start), adding them to `start_order` as
    `create_trial` would have. The oracle is saved when one was queued.
    Returns the ids queued. An `OracleClient` is left alone, as above.
    """
    queue = getattr(oracle, "_retry_queue", None)
    if not isinstance(queue, list):
        return []
    known = set(queue) | set(oracle.end_order)
    known |= {trial.trial_id for trial in oracle.ongoing_trials.values()}
    started = sorted(trial_id for trial_id, trial in oracle.trials.items()
                     if trial.status == RUNNING and trial_id not in known)
    for trial_id in started:
        queue.append(trial_id)
        if trial_id not in oracle.start_order:
            oracle.start_order.append(trial_id)
    if started:
        oracle.save()
    return started
