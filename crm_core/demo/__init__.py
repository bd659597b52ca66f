"""A demo bank: teams, agents, customers with accounts, transactions, history, contracts and commission,
generated as plain data (:mod:`~crm_core.demo.bank`, :mod:`~crm_core.demo.data`) and stored
(:mod:`~crm_core.demo.seed`).

The top layer: may import any other package of the CRM; nothing in the CRM imports it.
"""
