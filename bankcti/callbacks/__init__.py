"""Callbacks that keep their place: the engine that queues them in the ACD
(:mod:`~bankcti.callbacks.engine`), the stored requests and their routing facts
(:mod:`~bankcti.callbacks.requests`), the dialling — agent first, then the customer
(:mod:`~bankcti.callbacks.dialling`) — and the durable status writes that make sure a customer is never
dialled twice (:mod:`~bankcti.callbacks.status`).
"""
