"""The code generator behind scripts/generate.py, split by responsibility.

config: what each service generates (operations, hand-written extras, cross-member rules);
model: botocore's service model read as the generator needs it (shapes, Python types, names);
serialize: straight-line request serializers with the model's constraints inline;
emit: the generated modules (models, errors, shapes, operations) as text.
"""
