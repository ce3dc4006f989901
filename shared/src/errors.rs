//! Error text for logs and replies: an error with every cause under it. (reqwest's own text is
//! only "error sending request"; the reason — a refused certificate, a refused connection — is in
//! the chain.)

/// `error`, then each of its causes, joined by `": "`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    /// An error with an optional cause.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|inner| inner as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn every_cause_is_named_in_order() {
        let error = Layer(
            "error sending request",
            Some(Box::new(Layer("tls", Some(Box::new(Layer("certificate not trusted", None)))))),
        );
        assert_eq!(super::chain(&error), "error sending request: tls: certificate not trusted");
        assert_eq!(super::chain(&Layer("refused", None)), "refused");
    }
}
