//! How plausible it is that a vendor key is the renamed form of a contract field: case and
//! separator normalisation, token overlap, common synonyms and small edit distances. Scores are
//! graded so that "two equally good matches" (ambiguity) is a rare, meaningful tie.

/// Exact key.
pub(crate) const EXACT: u32 = 100;
/// Same words, different case or separators (`emailAddress` / `email_address`).
const NORMALISED: u32 = 90;
/// Same words up to synonyms (`user_uuid` / `user_id`, `mail` / `email`).
const SYNONYM: u32 = 85;
/// One name is the other plus qualifier words (`created` / `created_at`).
const QUALIFIED: u32 = 78;
/// The key holds every word of the field plus others (`email` / `contact_email`).
const CONTAINS: u32 = 72;
/// Small spelling change (`adress` / `address`).
const EDIT: u32 = 60;

/// Whole-name synonym groups, in normalised form (lower case, no separators).
const SYNONYM_GROUPS: &[&[&str]] = &[
    &["id", "identifier", "uuid", "guid"],
    &["name", "fullname", "displayname", "title"],
    &["email", "mail", "emailaddress"],
    &["phone", "phonenumber", "tel", "telephone", "mobile"],
    &["price", "amount", "cost"],
    &[
        "created",
        "createdat",
        "createdon",
        "creationdate",
        "creationtime",
        "createdtime",
    ],
    &[
        "updated",
        "updatedat",
        "modified",
        "modifiedat",
        "lastmodified",
        "updatedon",
    ],
    &["count", "total", "totalcount"],
    &["description", "desc", "summary"],
    &["url", "link", "href", "uri"],
    &["zip", "zipcode", "postcode", "postalcode"],
    &["firstname", "givenname"],
    &["lastname", "surname", "familyname"],
    &["company", "organization", "organisation", "org"],
    &["quantity", "qty"],
];

/// Word-level synonyms, mapped to one canonical word.
const TOKEN_SYNONYMS: &[(&str, &str)] = &[
    ("identifier", "id"),
    ("uuid", "id"),
    ("guid", "id"),
    ("mail", "email"),
    ("tel", "phone"),
    ("telephone", "phone"),
    ("mobile", "phone"),
    ("amount", "price"),
    ("cost", "price"),
    ("qty", "quantity"),
    ("organization", "company"),
    ("organisation", "company"),
    ("org", "company"),
    ("addr", "address"),
    ("desc", "description"),
];

/// Words that qualify a name without changing what it denotes.
const QUALIFIERS: &[&str] = &[
    "at",
    "on",
    "date",
    "time",
    "ts",
    "timestamp",
    "number",
    "num",
    "no",
    "value",
    "val",
    "address",
    "code",
    "text",
    "str",
    "string",
    "cents",
    "ms",
    "millis",
    "seconds",
    "secs",
];

/// Splits `emailAddress`, `email_address`, `Email-Address`, `HTTPStatus` into lower-case words.
pub(crate) fn tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

pub(crate) fn normalise(name: &str) -> String {
    tokens(name).concat()
}

fn canonical(word: &str) -> &str {
    TOKEN_SYNONYMS
        .iter()
        .find(|(w, _)| *w == word)
        .map_or(word, |(_, c)| c)
}

fn canonical_tokens(name: &str) -> Vec<String> {
    let mut out: Vec<String> = tokens(name)
        .iter()
        .map(|t| canonical(t).to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// True when the name says the number is in cents (`price_cents`, `amountCents`).
pub(crate) fn says_cents(name: &str) -> bool {
    tokens(name).iter().any(|t| t == "cents")
}

/// True when the name says an epoch value is in milliseconds.
pub(crate) fn says_millis(name: &str) -> bool {
    tokens(name).iter().any(|t| t == "ms" || t == "millis")
}

/// How plausible it is that `key` is `wanted` renamed; `None` when not plausible at all.
pub(crate) fn name_score(wanted: &str, key: &str) -> Option<u32> {
    if wanted == key {
        return Some(EXACT);
    }
    let (w, k) = (normalise(wanted), normalise(key));
    if w.is_empty() || k.is_empty() {
        return None;
    }
    if w == k {
        return Some(NORMALISED);
    }
    let (wt, kt) = (canonical_tokens(wanted), canonical_tokens(key));
    let same_group = SYNONYM_GROUPS
        .iter()
        .any(|g| g.contains(&w.as_str()) && g.contains(&k.as_str()));
    if same_group || wt == kt {
        return Some(SYNONYM);
    }
    let extra_in_key: Vec<&String> = kt.iter().filter(|t| !wt.contains(t)).collect();
    let extra_in_wanted: Vec<&String> = wt.iter().filter(|t| !kt.contains(t)).collect();
    let all_qualifiers = |extra: &[&String]| extra.iter().all(|t| QUALIFIERS.contains(&t.as_str()));
    if extra_in_wanted.is_empty() && all_qualifiers(&extra_in_key)
        || extra_in_key.is_empty() && all_qualifiers(&extra_in_wanted)
    {
        return Some(QUALIFIED);
    }
    if extra_in_wanted.is_empty() {
        let extra = u32::try_from(extra_in_key.len()).unwrap_or(u32::MAX);
        return Some(
            CONTAINS
                .saturating_sub(2 * extra.saturating_sub(1))
                .max(EDIT + 1),
        );
    }
    let shorter = w.chars().count().min(k.chars().count());
    let distance = edit_distance(&w, &k);
    if (distance <= 1 && shorter >= 4) || (distance <= 2 && shorter >= 6) {
        return Some(EDIT);
    }
    None
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            row[j + 1] = substitute.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_every_naming_style() {
        assert_eq!(tokens("emailAddress"), ["email", "address"]);
        assert_eq!(tokens("email_address"), ["email", "address"]);
        assert_eq!(tokens("Email-Address"), ["email", "address"]);
        assert_eq!(tokens("HTTPStatus"), ["http", "status"]);
        assert_eq!(tokens("userID"), ["user", "id"]);
    }

    #[test]
    fn grades_renames() {
        assert_eq!(name_score("email", "email"), Some(EXACT));
        assert_eq!(
            name_score("email_address", "emailAddress"),
            Some(NORMALISED)
        );
        assert_eq!(name_score("id", "uuid"), Some(SYNONYM));
        assert_eq!(name_score("name", "display_name"), Some(SYNONYM));
        assert_eq!(name_score("created_at", "created"), Some(SYNONYM));
        assert_eq!(name_score("shipped_at", "shipped"), Some(QUALIFIED));
        assert_eq!(name_score("email", "email_address"), Some(SYNONYM));
        assert_eq!(name_score("phone", "phone_no"), Some(QUALIFIED));
        assert_eq!(name_score("city", "city_name"), Some(CONTAINS));
        assert_eq!(name_score("email", "contact_email"), Some(CONTAINS));
        assert_eq!(name_score("address", "adress"), Some(EDIT));
        assert_eq!(name_score("first_name", "name"), None);
        assert_eq!(name_score("name", "game"), Some(EDIT));
        assert_eq!(name_score("id", "ip"), None);
        assert_eq!(name_score("email", "phone"), None);
    }
}
