-- Asymmetric keys (spec sections 13 and 14): a version of an asymmetric key is a key pair.
-- Its private key (PKCS#8 DER) is wrapped under the master key in wrapped_material, like
-- symmetric material; its public key (SubjectPublicKeyInfo DER) is not secret and is kept
-- beside it. Null for symmetric versions.
ALTER TABLE key_versions ADD COLUMN public_key bytea;
