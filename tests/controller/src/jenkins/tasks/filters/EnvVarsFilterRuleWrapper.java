package jenkins.tasks.filters;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code jenkins.tasks.filters.EnvVarsFilterRuleWrapper}: suid -8647970104978388598, field
 * {@code rules:Ljava/util/List;} (B.5). Jenkins sends an empty ArrayList when no rule is configured.
 */
public final class EnvVarsFilterRuleWrapper implements Serializable {
    private static final long serialVersionUID = -8647970104978388598L;

    private final List<Serializable> rules;

    public EnvVarsFilterRuleWrapper(List<Serializable> rules) {
        this.rules = rules;
    }

    public static EnvVarsFilterRuleWrapper empty() {
        return new EnvVarsFilterRuleWrapper(new ArrayList<>());
    }
}
