//! The channel's cursor: the mentions' `since_id` and the newest DM event seen, kept together
//! in one stored value (`m:<id>;d:<id>`) because intake stores one cursor per channel.

/// Where polling resumes. `None`: never started; `Some("")`: started, nothing seen yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Newest mention handled.
    pub mentions: Option<String>,
    /// Newest DM event handled.
    pub dms: Option<String>,
}

impl Cursor {
    /// Read a stored cursor.
    pub fn parse(stored: Option<&str>) -> Self {
        let mut c = Cursor::default();
        for part in stored.unwrap_or_default().split(';') {
            match part.split_once(':') {
                Some(("m", v)) => c.mentions = Some(v.to_string()),
                Some(("d", v)) => c.dms = Some(v.to_string()),
                _ => {}
            }
        }
        c
    }

    /// The stored form.
    pub fn render(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = &self.mentions {
            parts.push(format!("m:{m}"));
        }
        if let Some(d) = &self.dms {
            parts.push(format!("d:{d}"));
        }
        parts.join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_positions_round_trip() {
        let c = Cursor {
            mentions: Some("1860000000000000123".into()),
            dms: Some(String::new()),
        };
        assert_eq!(Cursor::parse(Some(&c.render())), c);
        assert_eq!(Cursor::parse(None), Cursor::default());
    }
}
