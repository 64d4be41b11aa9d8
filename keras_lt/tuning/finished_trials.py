"""A trial that finished just before a search was killed is not run again.

KerasTuner's `Oracle.end_trial` writes the trial's `trial.json` (status
COMPLETED, its score) and then `oracle.json`. A search killed between the
two resumes from an `oracle.json` that still lists the trial as ongoing, and
`reload` queues it for a retry: it is trained again, a whole trial lost (and
its files rewritten) for a kill that came after it had ended.
`settle_finished_trials` reads the trials' own files, which `reload` has
loaded, and ends such trials as they had ended before the kill. It reads
KerasTuner's `_retry_queue` (keras-tuner 1.4).
"""

COMPLETED = "COMPLETED"


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
