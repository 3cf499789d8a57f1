"""Signed webhooks: endpoints clients register, an outbox filled with the letters' changes, delivery by the worker.

An integration edge, beside the letters rather than inside them: the letter workflow only records its events
(shared.letters.workflow.events); the outbox turns the ones clients may hear about into deliveries in the same
transaction, and the worker sends them afterwards.
"""
