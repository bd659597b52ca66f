"""Data mining on customer value: Pareto/ABC contribution, AUM tiers, RFM, churn risk, the VIP treatment
the IVR and ACD read, segmentation runs and their reports.

May import: :mod:`crm_core.parameters`, :mod:`crm_core.stats`, :mod:`crm_core.models` and below.
"""
