public enum SwitchboardTestingPlaceholder {}
