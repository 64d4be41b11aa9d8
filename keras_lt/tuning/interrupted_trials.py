"""A search killed next to a trial's start or end resumes as the trial stood.

KerasTuner writes a trial's own `trial.json` first and `oracle.json` after
it, both when a trial starts (`Oracle.create_trial`: RUNNING) and when it
ends (`Oracle.end_trial`: COMPLETED, its score). A search killed between the
two writes resumes from an `oracle.json` one step behind the trial's file:

- killed as a trial ended, `oracle.json` still lists it as ongoing and
  `reload` queues it for a retry: it would be trained again, a whole trial
  lost (and its files rewritten) for a kill that came after it had ended;
- killed as a trial started, `oracle.json` does not know it: `reload` loads
  it from its file but does not queue it, it counts toward `max_trials`, and
  the search ends without running it, the trial left RUNNING.

`settle_interrupted_trials` reads the trials' own files, which `reload` has
loaded, and puts each trial where its file says it stood. It reads
KerasTuner's `_retry_queue` (keras-tuner 1.4).
"""

COMPLETED = "COMPLETED"
RUNNING = "RUNNING"


def settle_interrupted_trials(oracle):
    """Settles the trials of a reloaded `oracle` that a kill caught between
    their file and `oracle.json`:

    - ended: in the retry queue, but COMPLETED with a score in their files.
      They leave the queue for `oracle.end_order`.
    - started: RUNNING in their files, but neither ongoing, queued nor ended.
      They join the retry queue, and `oracle.start_order` as `create_trial`
      would have added them.

    The oracle is saved when one moved. Returns (ended ids, started ids). An
    `OracleClient` (a distributed worker) has no queue and is left alone: its
    chief's oracle settles them.
    """
    queue = getattr(oracle, "_retry_queue", None)
    if not isinstance(queue, list):
        return [], []
    ended = [trial_id for trial_id in queue
             if oracle.trials[trial_id].status == COMPLETED
             and oracle.trials[trial_id].score is not None]
    for trial_id in ended:
        queue.remove(trial_id)
        if trial_id not in oracle.end_order:
            oracle.end_order.append(trial_id)
    known = set(queue) | set(oracle.end_order)
    known |= {trial.trial_id for trial in oracle.ongoing_trials.values()}
    started = sorted(trial_id for trial_id, trial in oracle.trials.items()
                     if trial.status == RUNNING and trial_id not in known)
    for trial_id in started:
        queue.append(trial_id)
        if trial_id not in oracle.start_order:
            oracle.start_order.append(trial_id)
    if ended or started:
        oracle.save()
    return ended, started
