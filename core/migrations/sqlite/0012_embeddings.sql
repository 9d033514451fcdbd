-- The sentence encoder's embeddings of the sheets' texts (titles, phrasings, answers),
-- keyed by the model that computed them and a hash of the kind and the text, so that a
-- restart or another instance reuses them and an edited sheet re-embeds only what changed.
create table embeddings (
    -- the model's id (a hash of its file)
    model text not null,
    -- SHA-256 (first 128 bits, hex) of the kind's prefix and the text
    key text not null,
    -- the vector: little-endian f32, one per dimension
    vector blob not null,
    created_at integer not null,
    primary key (model, key)
);
